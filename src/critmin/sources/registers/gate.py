"""The registers' quality gate: one frame per register for the suites
``expectations/register_*.json``, with the problems of each entry as columns.

A column named ``<something>_problems`` holds what is wrong (NULL when nothing is): the suite expects
it to be NULL, so a failure shows the file and the exact problem. A failed gate writes
``quarantine/registers/<as_of>/report.json``; the files themselves stay where they are (in git).
"""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from critmin import codes
from critmin.errors import InputError, QualityGateError, failure_of_input_error
from critmin.quality import gate
from critmin.quality.results import as_dicts
from critmin.sources.registers.read import Registers, as_date, read_registers

if TYPE_CHECKING:
    from datetime import date

    import pandas as pd

    from critmin.settings import Settings

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
AGREEMENT_FIELDS = (
    *("id", "title", "announced_on", "parties", "instruments", "amounts", "minerals"),
    *("is_binding", "status", "sources"),
)
EVENT_FIELDS = ("id", "event_on", "authority", "reference", "event_type", "summary", "sources")


def _problems(values: list[str]) -> str | None:
    return "; ".join(values) if values else None


def validation_frames(
    registers: Registers, as_of: date, iso2_codes: frozenset[str]
) -> dict[str, pd.DataFrame]:
    """One row per register entry, with the checks the suites gate on as columns.

    A column named ``<something>_problems`` holds what is wrong (NULL when nothing is): the suite
    expects it to be NULL, so the failure shows the file and the exact problem.
    """
    import pandas as pd

    countries = iso2_codes
    currencies = {str(r.get("currency")) for r in registers.fx_rates}
    rows = []
    for a in registers.agreements:
        announced = as_date(a.get("announced_on"))
        amounts = a.get("amounts") or []
        rows.append(
            {
                "source_file": a["_file"],
                "agreement_id": a.get("id"),
                "id_matches_file": a.get("id") == PurePath(a["_file"]).stem,
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
                "id_matches_file": e.get("id") == PurePath(e["_file"]).stem,
                "missing_fields": _problems([f for f in EVENT_FIELDS if e.get(f) in (None, "", [])]),
                "event_date_valid": as_date(e.get("event_on")) is not None,
                "days_in_future": (d - as_of).days if (d := as_date(e.get("event_on"))) else None,
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


def gate_registers(settings: Settings, as_of: date) -> tuple[Registers, list[dict[str, Any]]]:
    """Validate every register; returns what was validated and the results.

    Raises ``QualityGateError`` naming each file and rule that failed, with a report in
    ``quarantine/registers/<as_of>/report.json``. The files themselves stay where they are (in git).
    """
    paths = settings.paths
    report_dir = paths.quarantine / "registers" / as_of.isoformat()
    context = {"registers_dir": str(settings.registers_dir)}
    try:
        registers = read_registers(settings.registers_dir)
    except InputError as error:
        gate.write_report(report_dir, [failure_of_input_error(error)], **context)
        raise QualityGateError(f"registers {as_of}: {error}\n  Nothing was loaded or published.") from error
    results = []
    frames = validation_frames(registers, as_of, codes.iso2_codes(settings.seeds_dir))
    for dataset, frame in frames.items():
        results.extend(
            gate.run_suite(
                settings,
                frame,
                dataset,
                batch=as_of.isoformat(),
                run_name=f"registers {as_of}",
                index_columns=("source_file",),
            )
        )
    failed = gate.critical(results)
    lines_of = {
        e["_file"]: e["_lines"] for e in registers.agreements + registers.policy_events + registers.fx_rates
    }
    if failed:
        report = gate.write_report(report_dir, as_dicts(failed), **context)
        lines = [f"registers {as_of}: {len(failed)} critical rule(s) failed"]
        for result in failed:
            lines.append(f"  - {result.dataset} {result.rule}: {result.description}")
            lines.append(f"      observed: {result.observed_value}")
            for row in result.offending_rows[: gate.ROWS_SHOWN]:
                problems = {k: v for k, v in row.items() if k.endswith("problems") or k == "missing_fields"}
                shown = {k: v for k, v in problems.items() if v} or row
                where = _where(lines_of, row.get("source_file"), result.rule)
                lines.append(f"      {where}: {shown}")
        lines.append(f"  Report: {report}")
        lines.append(f"  Data Docs: {paths.quality_docs_index.as_uri()}")
        lines.append("  Nothing was loaded or published. Fix the files and run again.")
        gate.publish_docs(settings)
        raise QualityGateError("\n".join(lines))
    gate.log_warnings(results, f"registers {as_of}")
    return registers, as_dicts(results)


#: The YAML key each rule judges, so a refusal names the line to fix.
RULE_KEYS = {
    "id_matches_file_name": "id",
    "ids_unique": "id",
    "announced_on_is_a_date": "announced_on",
    "announced_on_not_in_future": "announced_on",
    "event_on_is_a_date": "event_on",
    "event_on_not_in_future": "event_on",
    "has_source": "sources",
    "parties_valid": "parties",
    "currency_has_usd_rate": "amounts",
    "amounts_valid": "amounts",
    "mineral_symbols_known": "minerals",
    "currency_is_iso_4217": "rates",
    "currency_present": "rates",
    "rate_positive": "rates",
    "rate_has_source": "rates",
    "one_rate_per_currency": "rates",
}


def _where(lines_of: dict[str, dict[str, int]], source_file: object, rule: str) -> str:
    """``<file>, line <n>`` for the key the rule judges (the file's first line when the key is
    missing altogether), or just the file."""
    lines = lines_of.get(str(source_file))
    if not lines:
        return str(source_file)
    key = RULE_KEYS.get(rule)
    return f"{source_file}, line {lines.get(key, 1) if key else 1}"


def file_digests(registers: Registers) -> dict[str, str]:
    """File name -> sha256 of every agreement and event file: what a load checks it still loads."""
    return {entry["_file"]: entry["_sha256"] for entry in registers.agreements + registers.policy_events}
