"""Quarantine: where refused input goes, with a machine-readable report beside it.

A refused file is moved out of the landing folder (so the next run does not pick it up again) to
``$CRITMIN_HOME/quarantine/<source>/<YYYY-MM>/<sha256[:12]>-<original name>``, next to
``<same name>.report.json``. Its bytes also stay in the raw zone. Nothing is ever deleted.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from critmin.errors import printable

if TYPE_CHECKING:
    from pathlib import Path

    from critmin.settings import Paths

log = logging.getLogger(__name__)


def _inside(folder: Path, path: Path | None) -> bool:
    """Whether ``path`` sits below ``folder`` with no link on the way: only such files are moved."""
    if path is None or folder not in path.parents:
        return False
    return not any(part.is_symlink() for part in path.parents if folder in part.parents)


def quarantine_file(
    paths: Paths,
    *,
    source: str,
    month: object,
    original_name: str,
    sha256: str | None,
    landing_file: Path | None,
    raw_object: Path | None,
    failures: list[dict[str, Any]],
    what_to_do: str,
) -> Path:
    """Move (or, when the landing copy is gone, copy from the raw zone) and write the report.

    ``original_name`` is only ever used as the last component of a path inside the quarantine
    folder: separators and parent references in it cannot lead outside.
    """
    folder = paths.quarantine / source / str(month)
    folder.mkdir(parents=True, exist_ok=True)
    safe_name = original_name.replace("/", "_").replace("\\", "_").lstrip(".") or "unnamed"
    prefix = (sha256 or "unreadable")[:12]
    target = folder / f"{prefix}-{safe_name}"
    if (
        landing_file is not None
        and _inside(paths.landing, landing_file)
        and (landing_file.exists() or landing_file.is_symlink())
    ):
        # a link is moved as a link: its target, wherever it is, is never touched
        shutil.move(os.fspath(landing_file), target)  # same bytes as an earlier refusal: replaced
    elif raw_object is not None and raw_object.exists() and not target.exists():
        shutil.copyfile(raw_object, target)
    report = {
        "source": source,
        "month": str(month),
        "original_name": original_name,
        "landing_path": str(landing_file) if landing_file else None,
        "quarantined_as": str(target),
        "sha256": sha256,
        "raw_object": str(raw_object) if raw_object else None,
        "quarantined_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "failed_rules": failures,
        "what_to_do": what_to_do,
    }
    report_path = target.with_name(target.name + ".report.json")
    report_path.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    log.warning(
        "quarantined %s -> %s (report: %s)",
        printable(original_name),
        printable(target),
        printable(report_path),
    )
    return report_path
