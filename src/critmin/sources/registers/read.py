"""Read the curated registers: mineral agreements, export-control events and USD rates, one YAML
file per entry in git (``data/registers/``).

A malformed file is an ``InputError`` naming the file and the line. Dates stay text, so the gate,
not PyYAML, judges them. Each entry keeps its file name and the file's sha256 (``_file``,
``_sha256``), so the load can check it loads exactly what the gate validated.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from critmin.errors import InputError

if TYPE_CHECKING:
    from pathlib import Path


@dataclass
class Registers:
    agreements: list[dict[str, Any]] = field(default_factory=list)
    policy_events: list[dict[str, Any]] = field(default_factory=list)
    fx_rates: list[dict[str, Any]] = field(default_factory=list)


def _loader():
    """PyYAML's safe loader, with dates left as text: the gate checks them (and names the rule)
    instead of PyYAML failing on 2025-13-45 with 'month must be in 1..12'."""
    import yaml

    class _TextDatesLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            """Refuse a key written twice (PyYAML would silently keep the last value)."""
            seen: dict[object, int] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"key {key!r} appears twice (first on line {seen[key]})",
                        key_node.start_mark,
                    )
                seen[key] = line
            return super().construct_mapping(node, deep=deep)

    _TextDatesLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return _TextDatesLoader


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    text = path.read_text(encoding="utf-8")
    try:
        document = yaml.load(text, Loader=_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        raise InputError(
            path,
            f"malformed YAML: {problem}",
            line=mark.line + 1 if mark else None,
            hint="fix the YAML (indentation, quotes, colons) and run the registers DAG again",
            rule="yaml_well_formed",
        ) from None
    if not isinstance(document, dict):
        raise InputError(path, "the file is not a YAML mapping", line=1, rule="yaml_well_formed")
    root = yaml.compose(text, Loader=_loader())  # noqa: S506 - a SafeLoader subclass
    document["_lines"] = {key.value: key.start_mark.line + 1 for key, _ in getattr(root, "value", [])}
    document["_file"] = path.name
    document["_sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return document


#: Register files are YAML: both usual extensions are read, in any case (``.YML`` too).
SUFFIXES = (".yml", ".yaml")


def register_files(folder: Path) -> list[Path]:
    """The register files of a folder. Anything else in it but hidden files is refused: a file
    the registers would silently skip (a typo in its extension) is an entry lost without a word."""
    if not folder.is_dir():
        return []
    files = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.suffix.lower() not in SUFFIXES or not path.is_file():
            raise InputError(
                path,
                "not a register file: a register folder holds one YAML file (.yml or .yaml) per entry",
                hint="give an entry the extension .yml, or move anything else out of the folder",
                rule="register_files_are_yaml",
            )
        files.append(path)
    return files


def read_registers(root: Path) -> Registers:
    """Every register file, parsed. Raises ``InputError`` naming the first malformed file."""
    registers = Registers()
    for path in register_files(root / "agreements"):
        registers.agreements.append(_read_yaml(path))
    for path in register_files(root / "policy_events"):
        registers.policy_events.append(_read_yaml(path))
    for path in register_files(root / "fx_rates"):
        document = _read_yaml(path)
        for rate in document.get("rates") or []:
            registers.fx_rates.append({**rate, "_file": path.name, "_lines": document["_lines"]})
    return registers


def as_date(value: Any) -> date | None:
    """A register date as a ``date``; None when it is not a valid ISO date."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None
