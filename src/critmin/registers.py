"""Curated registers: mineral agreements, export-control events and USD rates, as YAML files in git.

``read_registers`` parses every file of ``data/registers/`` (a malformed file is an error naming the
file and the line), ``validation_frames`` turns them into one DataFrame per register for the
Great Expectations suites in ``expectations/register_*.json``, and ``load_registers`` replaces the
``raw.register_*`` tables in ``warehouse.duckdb`` in one transaction. Amounts stay as stated: an
undisclosed amount is NULL, never zero.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from critmin.errors import InputError
from critmin.settings import repo_root

if TYPE_CHECKING:
    import pandas as pd

    from critmin.settings import Paths

log = logging.getLogger(__name__)

_AGREEMENT_CHECK_COLUMNS = [
    "source_file",
    "agreement_id",
    "id_matches_file",
    "missing_fields",
    "announced_on",
    "announced_date_valid",
    "days_in_future",
    "source_count",
    "country_problems",
    "currency_problems",
    "amount_problems",
    "mineral_problems",
]
#: Chemical element symbols: a mineral written like a symbol must be one of these.
_ELEMENTS = """
H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr Rb
Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf
Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr Rf Db Sg Bh
Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og
"""
ELEMENT_SYMBOLS = frozenset(_ELEMENTS.split())
_SYMBOL_LIKE = re.compile(r"^[A-Z][a-z]?$")
QUALIFIERS = ("exact", "up_to", "at_least", "approximately", "undisclosed")
PARTY_KINDS = ("government", "agency", "company")
AGREEMENT_FIELDS = ("id", "title", "announced_on", "parties", "instruments", "amounts", "minerals")
AGREEMENT_FIELDS += ("is_binding", "status", "sources")
EVENT_FIELDS = ("id", "event_on", "authority", "reference", "event_type", "summary", "sources")


def registers_dir() -> Path:
    return Path(os.environ.get("CRITMIN_REGISTERS_DIR") or repo_root() / "data" / "registers")


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
        pass

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
    document["_file"] = path.name
    document["_sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return document


def read_registers(root: Path | None = None) -> Registers:
    """Every register file, parsed. Raises ``InputError`` naming the first malformed file."""
    root = root or registers_dir()
    registers = Registers()
    for path in sorted((root / "agreements").glob("*.yml")):
        registers.agreements.append(_read_yaml(path))
    for path in sorted((root / "policy_events").glob("*.yml")):
        registers.policy_events.append(_read_yaml(path))
    for path in sorted((root / "fx_rates").glob("*.yml")):
        for rate in _read_yaml(path).get("rates") or []:
            registers.fx_rates.append({**rate, "_file": path.name})
    return registers


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _problems(values: list[str]) -> str | None:
    return "; ".join(values) if values else None


def validation_frames(registers: Registers, as_of: date) -> dict[str, pd.DataFrame]:
    """One row per register entry, with the checks the suites gate on as columns.

    A column named ``<something>_problems`` holds what is wrong (NULL when nothing is): the suite
    expects it to be NULL, so the failure shows the file and the exact problem.
    """
    import pandas as pd

    countries = _iso_countries()
    currencies = {str(r.get("currency")) for r in registers.fx_rates}
    rows = []
    for a in registers.agreements:
        announced = _as_date(a.get("announced_on"))
        amounts = a.get("amounts") or []
        rows.append(
            {
                "source_file": a["_file"],
                "agreement_id": a.get("id"),
                "id_matches_file": a.get("id") == a["_file"].removesuffix(".yml"),
                "missing_fields": _problems([f for f in AGREEMENT_FIELDS if a.get(f) in (None, "", [])]),
                "announced_on": str(a.get("announced_on")),
                "announced_date_valid": announced is not None,
                "days_in_future": (announced - as_of).days if announced else None,
                "source_count": len(a.get("sources") or []),
                "country_problems": _problems(
                    [
                        f"{p.get('name')}: country {p.get('country')!r} is not an ISO 3166 alpha-2 code"
                        for p in a.get("parties") or []
                        if p.get("country") not in countries
                    ]
                    + [
                        f"{p.get('name')}: kind {p.get('kind')!r} is not one of {', '.join(PARTY_KINDS)}"
                        for p in a.get("parties") or []
                        if p.get("kind") not in PARTY_KINDS
                    ]
                ),
                "currency_problems": _problems(
                    [
                        f"currency {m.get('currency')!r} has no USD rate in data/registers/fx_rates"
                        for m in amounts
                        if m.get("amount") is not None and str(m.get("currency")) not in currencies
                    ]
                ),
                "amount_problems": _problems(
                    [
                        f"amount {m.get('amount')!r} is negative or not a number"
                        for m in amounts
                        if m.get("amount") is not None
                        and (not isinstance(m.get("amount"), (int, float)) or m.get("amount") < 0)
                    ]
                    + [
                        f"qualifier {m.get('qualifier')!r} is not one of {', '.join(QUALIFIERS)}"
                        for m in amounts
                        if m.get("qualifier") not in QUALIFIERS
                    ]
                    + [
                        "an undisclosed amount must have amount: null"
                        for m in amounts
                        if m.get("qualifier") == "undisclosed" and m.get("amount") is not None
                    ]
                    + (
                        ["more than one headline amount"]
                        if sum(bool(m.get("headline")) for m in amounts) > 1
                        else []
                    )
                ),
                "mineral_problems": _problems(
                    [
                        f"{m!r} looks like an element symbol but is not one"
                        for m in a.get("minerals") or []
                        if _SYMBOL_LIKE.match(str(m)) and str(m) not in ELEMENT_SYMBOLS
                    ]
                ),
            }
        )
    agreements = pd.DataFrame(rows, columns=_AGREEMENT_CHECK_COLUMNS)
    events = pd.DataFrame(
        [
            {
                "source_file": e["_file"],
                "event_id": e.get("id"),
                "id_matches_file": e.get("id") == e["_file"].removesuffix(".yml"),
                "missing_fields": _problems([f for f in EVENT_FIELDS if e.get(f) in (None, "", [])]),
                "event_date_valid": _as_date(e.get("event_on")) is not None,
                "days_in_future": (d - as_of).days if (d := _as_date(e.get("event_on"))) else None,
                "source_count": len(e.get("sources") or []),
            }
            for e in registers.policy_events
        ]
    )
    rates = pd.DataFrame(
        [
            {
                "source_file": r["_file"],
                "currency": r.get("currency"),
                "usd_per_unit": r.get("usd_per_unit"),
                "has_source": bool(r.get("source")),
            }
            for r in registers.fx_rates
        ]
    )
    return {"register_agreements": agreements, "register_policy_events": events, "register_fx_rates": rates}


def gate_registers(paths: Paths, as_of: date) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Validate every register; returns the validated files' sha256 and the results.

    Raises ``QualityGateError`` naming each file and rule that failed; a report is written to
    ``quarantine/registers/<as_of>/report.json``. The files themselves stay where they are (in git).
    """
    import json
    from dataclasses import asdict

    from critmin.errors import QualityGateError, failure_of_input_error
    from critmin.quality.validation import validate
    from critmin.settings import expectations_dir

    report_dir = paths.quarantine / "registers" / as_of.isoformat()
    try:
        registers = read_registers()
    except InputError as error:
        _write_report(report_dir, [failure_of_input_error(error)])
        raise QualityGateError(
            f"registers {as_of}: {error}\n  Nothing was loaded; serving.duckdb is unchanged."
        ) from error
    results = []
    for dataset, frame in validation_frames(registers, as_of).items():
        results.extend(
            validate(
                frame,
                expectations_dir() / f"{dataset}.json",
                dataset=dataset,
                batch=as_of.isoformat(),
                docs_dir=paths.quality_docs,
                index_columns=("source_file",),
                run_name=f"registers {as_of}",
                gx_dir=paths.gx_state,
            )
        )
    as_dicts = json.loads(json.dumps([asdict(r) for r in results], default=str, ensure_ascii=False))
    failed = [r for r in results if not r.success and r.severity == "critical"]
    if failed:
        _write_report(report_dir, [d for d, r in zip(as_dicts, results, strict=True) if r in failed])
        lines = [f"registers {as_of}: {len(failed)} critical rule(s) failed"]
        for result in failed:
            lines.append(f"  - {result.dataset} {result.rule}: {result.description}")
            lines.append(f"      observed: {result.observed_value}")
            for row in result.offending_rows[:3]:
                problems = {k: v for k, v in row.items() if k.endswith("problems") or k == "missing_fields"}
                shown = {k: v for k, v in problems.items() if v} or row
                lines.append(f"      {row.get('source_file')}: {shown}")
        lines.append(f"  Report: {report_dir / 'report.json'}")
        lines.append(f"  Data Docs: {(paths.quality_docs / 'index.html').as_uri()}")
        lines.append("  Nothing was loaded; serving.duckdb is unchanged. Fix the files and run again.")
        raise QualityGateError("\n".join(lines))
    shas = {a["_file"]: a["_sha256"] for a in registers.agreements + registers.policy_events}
    return shas, as_dicts


def _write_report(folder: Path, failures: list[dict[str, Any]]) -> None:
    import json

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(
        json.dumps({"registers_dir": str(registers_dir()), "failed_rules": failures}, indent=2, default=str),
        encoding="utf-8",
    )


def _iso_countries() -> frozenset[str]:
    from critmin.gacc.codes import iso2_codes

    return iso2_codes()


# --- load ----------------------------------------------------------------------------------------

_TABLES = {
    "raw.register_agreements": """agreement_id varchar, title varchar, announced_on date,
        is_binding boolean, is_conditional boolean, status varchar, summary varchar,
        source_file varchar, file_sha256 varchar""",
    "raw.register_agreement_parties": """agreement_id varchar, party_order integer, party_name varchar,
        party_kind varchar, country_iso2 varchar""",
    "raw.register_agreement_instruments": "agreement_id varchar, instrument varchar",
    "raw.register_agreement_amounts": """agreement_id varchar, amount_order integer,
        amount decimal(20, 2), currency varchar, qualifier varchar, purpose varchar,
        is_headline boolean, as_stated varchar""",
    "raw.register_agreement_terms": "agreement_id varchar, term varchar",
    "raw.register_agreement_minerals": "agreement_id varchar, mineral varchar",
    "raw.register_agreement_sources": "agreement_id varchar, source_url varchar",
    "raw.register_policy_events": """event_id varchar, event_on date, authority varchar,
        reference varchar, event_type varchar, summary varchar, in_force_until date,
        source_urls varchar, source_file varchar""",
    "raw.register_fx_rates": """currency varchar, usd_per_unit decimal(20, 10), valid_from date,
        source varchar""",
}


def ensure_tables(connection) -> None:
    """The raw register tables, empty until the registers DAG first loads them (dbt needs them)."""
    connection.execute("create schema if not exists raw")
    for table, columns in _TABLES.items():
        connection.execute(f"create table if not exists {table} ({columns})")


def _rows(registers: Registers) -> dict[str, list[tuple]]:
    rows: dict[str, list[tuple]] = {table: [] for table in _TABLES}
    for a in registers.agreements:
        agreement_id = a["id"]
        rows["raw.register_agreements"].append(
            (
                agreement_id,
                a.get("title"),
                _as_date(a.get("announced_on")),
                bool(a.get("is_binding")),
                bool(a.get("is_conditional", False)),
                a.get("status"),
                a.get("summary"),
                a["_file"],
                a["_sha256"],
            )
        )
        for order, party in enumerate(a.get("parties") or [], start=1):
            rows["raw.register_agreement_parties"].append(
                (agreement_id, order, party.get("name"), party.get("kind"), party.get("country"))
            )
        for instrument in a.get("instruments") or []:
            rows["raw.register_agreement_instruments"].append((agreement_id, str(instrument)))
        for order, m in enumerate(a.get("amounts") or [], start=1):
            rows["raw.register_agreement_amounts"].append(
                (
                    agreement_id,
                    order,
                    m.get("amount"),
                    m.get("currency"),
                    m.get("qualifier"),
                    m.get("purpose"),
                    bool(m.get("headline")),
                    m.get("as_stated"),
                )
            )
        for term in a.get("terms") or []:
            rows["raw.register_agreement_terms"].append((agreement_id, str(term)))
        for mineral in a.get("minerals") or []:
            rows["raw.register_agreement_minerals"].append((agreement_id, str(mineral)))
        for url in a.get("sources") or []:
            rows["raw.register_agreement_sources"].append((agreement_id, str(url)))
    for e in registers.policy_events:
        rows["raw.register_policy_events"].append(
            (
                e["id"],
                _as_date(e.get("event_on")),
                e.get("authority"),
                e.get("reference"),
                e.get("event_type"),
                e.get("summary"),
                _as_date(e.get("in_force_until")),
                " ".join(e.get("sources") or []),
                e["_file"],
            )
        )
    for r in registers.fx_rates:
        rows["raw.register_fx_rates"].append(
            (r.get("currency"), r.get("usd_per_unit"), _as_date(r.get("valid_from")), r.get("source"))
        )
    return rows


def load_registers(
    paths: Paths, registers: Registers, month: str, quality_results: list[dict] | None = None
) -> int:
    """Replace every register table with the files' contents, in one transaction; the gate's
    results are recorded under the run's month."""
    from critmin.quality.results import replace_results
    from critmin.warehouse import connect, ensure_raw_tables, transaction

    rows = _rows(registers)
    with connect(paths.warehouse_db) as connection:
        ensure_raw_tables(connection)
        with transaction(connection):
            for table, values in rows.items():
                connection.execute(f"delete from {table}")
                if values:
                    marks = ", ".join("?" * len(values[0]))
                    connection.executemany(f"insert into {table} values ({marks})", values)
            replace_results(connection, month, quality_results or [])
    log.info(
        "registers loaded: %d agreements, %d policy events, %d USD rates",
        len(registers.agreements),
        len(registers.policy_events),
        len(registers.fx_rates),
    )
    return len(registers.agreements)
