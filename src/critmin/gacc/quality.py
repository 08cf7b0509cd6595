"""The customs quality gates: the month's raw rows before load, the month's mart rows before publish.

Suites are files in ``expectations/`` (one per dataset); each expectation is ``critical`` (blocks the
month) or ``warning`` (reported, published). A critical failure quarantines the files it implicates
with a JSON report, keeps the warehouse and ``serving.duckdb`` as they were, and fails the run with a
message naming the month, the file, each failed rule, the observed value and a few offending rows.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Any

from critmin.errors import QualityGateError
from critmin.gacc.codes import partner_codes, partner_names
from critmin.gacc.reader import FIELDS, NUMERIC_FIELDS, iter_records, read_layout
from critmin.months import first_day, parse_month
from critmin.quarantine import quarantine_file
from critmin.raw_zone import RawZone
from critmin.settings import expectations_dir, magnet_hs8_codes

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from critmin.quality.validation import CheckResult
    from critmin.raw_zone import ManifestEntry
    from critmin.settings import Paths

log = logging.getLogger(__name__)

SOURCE = "gacc/export"
WORLD = "000"
RAW_DATASET = "gacc_export_rows"
MONTH_DATASET = "gacc_export_month"
MART_DATASET = "fct_magnet_exports_monthly"
WHAT_TO_DO = (
    "fix or download the file again, put it in landing/gacc/export/{month}/ (under the same name to "
    "replace the refused version) and run the month again"
)
#: Export-control events this many months either side of a month are named beside its anomalies.
EVENT_WINDOW_MONTHS = 2


def _results_as_dicts(results: list[CheckResult]) -> list[dict[str, Any]]:
    """JSON-safe dicts (for XCom, reports and the results table)."""
    return json.loads(json.dumps([asdict(r) for r in results], default=str, ensure_ascii=False))


def _validate(frame: pd.DataFrame, dataset: str, batch: str, paths: Paths, index_columns) -> list:
    from critmin.quality.validation import validate

    return validate(
        frame,
        expectations_dir() / f"{dataset}.json",
        dataset=dataset,
        batch=batch,
        docs_dir=paths.quality_docs,
        index_columns=index_columns,
        run_name=f"customs_monthly {frame['run_month'].iloc[0] if len(frame) else batch}",
        gx_dir=paths.gx_state,
    )


# --- landing --------------------------------------------------------------------------------------

FILES_DATASET = "gacc_export_files"


def validate_landing(paths: Paths, month: str, checked: list[dict[str, Any]]) -> Path:
    """Record what landing found (readable or refused, and why) as a validation in the Data Docs.

    Landing itself refuses unreadable files; this makes every run, even one refused before any row
    could be read, visible in the Data Docs. Returns the Data Docs index.
    """
    import pandas as pd

    columns = ["source_file", "sha256", "data_rows", "refused_rule", "refused_because"]
    frame = pd.DataFrame(checked, columns=columns)
    frame.insert(0, "run_month", month)
    for result in _validate(frame, FILES_DATASET, month, paths, ("source_file",)):
        if not result.success:
            log.warning("%s %s: %s — %s", month, result.rule, result.description, result.observed_value)
    docs = paths.quality_docs / "index.html"
    log.info("landing checks of %s recorded. Data Docs: %s", month, docs.as_uri())
    return docs


# --- raw gate -------------------------------------------------------------------------------------


def file_frame(raw_file: Path, original_name: str, month: str) -> pd.DataFrame:
    """One download's rows as the raw suite's batch (see expectations/gacc_export_rows.json)."""
    import pandas as pd

    layout = read_layout(raw_file)
    records = list(iter_records(raw_file, layout))
    known = partner_codes()
    columns: dict[str, list[Any]] = {
        "source_file": [original_name] * len(records),
        "source_line": [r.line_number for r in records],
        "run_month": [month] * len(records),
        "file_data_rows": [len(records)] * len(records),
    }
    for field in FIELDS:
        if field in NUMERIC_FIELDS:
            columns[field] = [None if (v := getattr(r, field)) is None else float(v) for r in records]
        else:
            columns[field] = [getattr(r, field) for r in records]
    columns["duplicate_key"] = [
        "|".join(v or "" for v in (r.month, r.hs8_code, r.partner_code, r.regime_code, r.province_code))
        for r in records
    ]
    columns["partner_code_known"] = [
        (r.partner_code in known) if layout.has_partner else None for r in records
    ]
    listed = partner_names()
    columns["partner_name_unlisted"] = [
        None if r.partner_name in listed.get(r.partner_code or "", ()) else r.partner_name for r in records
    ]
    return pd.DataFrame(columns)


def month_frame(frames: dict[str, pd.DataFrame], entries: list[ManifestEntry], month: str):
    """Per tariff code: the world total against the sum over partners (latest file per partner)."""
    import pandas as pd

    sequence = {e.original_name: e.sequence for e in entries}
    world: dict[str, float] = {}
    partner_best: dict[tuple[str, str], tuple[int, float]] = {}
    for name, frame in frames.items():
        is_partner_file = frame["partner_code"].notna().any()
        totals = frame.groupby(["hs8_code", "partner_code"] if is_partner_file else ["hs8_code"])[
            "quantity"
        ].sum()
        for key, kilograms in totals.items():
            if is_partner_file:
                if sequence[name] > partner_best.get(key, (-1, 0.0))[0]:
                    partner_best[key] = (sequence[name], float(kilograms))
            else:
                world[key] = world.get(key, 0.0) + float(kilograms)
    partner_sums: dict[str, float] = {}
    for (hs8, _), (_, kilograms) in partner_best.items():
        partner_sums[hs8] = partner_sums.get(hs8, 0.0) + kilograms
    codes = sorted(set(world) | set(partner_sums))
    return pd.DataFrame(
        {
            "hs8_code": codes,
            "run_month": [month] * len(codes),
            "world_quantity_kg": [world.get(c) for c in codes],
            "partner_sum_kg": [partner_sums.get(c) for c in codes],
            "partner_to_world_ratio": [
                (partner_sums[c] / world[c]) if c in world and c in partner_sums and world[c] else None
                for c in codes
            ],
        }
    )


def gate_raw(paths: Paths, month: str) -> list[dict[str, Any]]:
    """Validate the month's current downloads; quarantine and fail on a critical failure."""
    month = parse_month(month)
    zone = RawZone(paths.raw)
    entries = zone.current(SOURCE, month)
    frames: dict[str, pd.DataFrame] = {}
    results: list[CheckResult] = []
    failing: dict[str, list[CheckResult]] = {}
    for entry in entries:
        frame = file_frame(paths.raw / entry.object_path, entry.original_name, month)
        frames[entry.original_name] = frame
        file_results = _validate(frame, RAW_DATASET, entry.original_name, paths, ("source_line",))
        results.extend(file_results)
        critical = [r for r in file_results if not r.success and r.severity == "critical"]
        if critical:
            failing[entry.original_name] = critical
    month_results = _validate(month_frame(frames, entries, month), MONTH_DATASET, month, paths, ("hs8_code",))
    results.extend(month_results)
    for result in month_results:
        if not result.success and result.severity == "critical":
            codes = {row.get("hs8_code") for row in result.offending_rows} or None
            for name, frame in frames.items():
                covers = codes is None or frame["hs8_code"].isin(codes).any()
                if frame["partner_code"].notna().any() and covers:
                    failing.setdefault(name, []).append(result)
    _log_warnings(results, month)
    if failing:
        by_name = {e.original_name: e for e in entries}
        _quarantine_and_fail(paths, month, [(by_name[n], failing[n]) for n in sorted(failing)], "raw")
    log.info(
        "raw gate passed for %s: %d files, %d checks. Data Docs: %s",
        month,
        len(entries),
        len(results),
        (paths.quality_docs / "index.html").as_uri(),
    )
    return _results_as_dicts(results)


# --- mart gate ------------------------------------------------------------------------------------


def mart_frame(paths: Paths, month: str) -> pd.DataFrame:
    """The month's fact rows beside an independent re-summing of the raw rows they come from."""
    from critmin.warehouse import connect

    codes = list(magnet_hs8_codes())
    with connect(paths.warehouse_db, read_only=True) as connection:
        frame = connection.execute(
            f"""
            with files as (
                select * from raw.gacc_export_files where data_month = $month
            ),
            per_file as (
                select
                    r.hs8_code,
                    case when f.has_partner_column then r.partner_code else '{WORLD}' end as partner_code,
                    r.source_file_sha256,
                    f.landing_sequence,
                    sum(r.quantity) as raw_quantity_kg
                from raw.gacc_export_rows as r
                inner join files as f
                    on r.data_month = f.data_month and r.source_file_sha256 = f.sha256
                where r.hs8_code in (select unnest($codes))
                group by all
            ),
            expected as (
                select * from per_file
                qualify row_number() over (
                    partition by hs8_code, partner_code order by landing_sequence desc
                ) = 1
            ),
            served as (
                select * from marts.fct_magnet_exports_monthly where month = $month
            )
            select
                coalesce(served.hs8_code, expected.hs8_code) as hs8_code,
                coalesce(served.partner_code, expected.partner_code) as partner_code,
                served.partner_name,
                served.quantity_kg::double as quantity_kg,
                served.quantity_t::double as quantity_t,
                expected.raw_quantity_kg::double as raw_quantity_kg,
                coalesce(served.quantity_kg, 0)::double
                    - coalesce(expected.raw_quantity_kg, 0)::double as difference_kg,
                served.quantity_t::double * 1000 - served.quantity_kg::double as tonnes_error_kg,
                served.share_of_world_pct,
                served.mom_pct,
                abs(served.mom_pct) as abs_mom_pct,
                served.yoy_pct,
                coalesce(served.source_file_sha256, expected.source_file_sha256) as source_file_sha256
            from served
            full outer join expected
                on served.hs8_code = expected.hs8_code and served.partner_code = expected.partner_code
            order by 1, 2
            """,
            {"month": first_day(month), "codes": codes},
        ).df()
    frame.insert(0, "run_month", month)
    frame["events_near"] = events_near(month)
    return frame


def gate_marts(paths: Paths, month: str) -> list[dict[str, Any]]:
    """Reconcile and sanity-check the month's mart rows. Raises ``QualityGateError`` when critical."""
    month = parse_month(month)
    frame = mart_frame(paths, month)
    results = _validate(frame, MART_DATASET, month, paths, ("hs8_code", "partner_code"))
    _log_warnings(results, month)
    critical = [r for r in results if not r.success and r.severity == "critical"]
    if critical:
        shas = {row.get("source_file_sha256") for r in critical for row in r.offending_rows}
        entries = [e for e in RawZone(paths.raw).current(SOURCE, month) if e.sha256 in shas or not shas]
        _quarantine_and_fail(paths, month, [(e, critical) for e in entries], "mart")
    log.info(
        "mart gate passed for %s: %d checks. Data Docs: %s",
        month,
        len(results),
        (paths.quality_docs / "index.html").as_uri(),
    )
    return _results_as_dicts(results)


# --- policy events --------------------------------------------------------------------------------


@cache
def _policy_events() -> tuple[tuple[date, str], ...]:
    """The export-control events register (data/registers/policy_events), as (date, label)."""
    from critmin.registers import read_registers

    events = []
    for event in read_registers().policy_events:
        try:
            when = date.fromisoformat(str(event.get("event_on")))
        except ValueError:
            continue  # the registers gate reports it; an anomaly warning just leaves it out
        label = f"{when} {event.get('authority')} {event.get('reference')} ({event.get('event_type')})"
        events.append((when, label))
    return tuple(sorted(events))


def events_near(month: str) -> str | None:
    """Export-control events within ``EVENT_WINDOW_MONTHS`` of the month, as one line, or None."""
    day = first_day(month)
    index = day.year * 12 + day.month
    near = [
        label
        for when, label in _policy_events()
        if abs(when.year * 12 + when.month - index) <= EVENT_WINDOW_MONTHS
    ]
    return "; ".join(near) or None


# --- shared ---------------------------------------------------------------------------------------


_HIDDEN_IN_ROWS = {
    "run_month",
    "duplicate_key",
    "commodity_name",
    "file_data_rows",
    "events_near",
    "partner_name_unlisted",
    "partner_code_known",
}


def _describe_row(row: dict[str, Any]) -> str:
    shown = {k: v for k, v in row.items() if v is not None and k not in _HIDDEN_IN_ROWS}
    return ", ".join(f"{k}={v}" for k, v in list(shown.items())[:9])


def _log_warnings(results: list[CheckResult], month: str) -> None:
    for result in results:
        if not result.success and result.severity == "warning":
            log.warning(
                "%s %s [%s] warning %s: %s — %s",
                month,
                result.dataset,
                result.batch,
                result.rule,
                result.description,
                result.observed_value,
            )
            for row in result.offending_rows[:3]:
                log.warning("    %s", _describe_row(row))
            events = {row["events_near"] for row in result.offending_rows if row.get("events_near")}
            for line in sorted(events):
                log.warning("    export-control events near %s: %s", month, line)


def _quarantine_and_fail(
    paths: Paths, month: str, implicated: list[tuple[ManifestEntry, list[CheckResult]]], gate: str
) -> None:
    zone = RawZone(paths.raw)
    lines = [
        f"{SOURCE} {month}: the {gate} quality gate failed; "
        f"{len(implicated)} file(s) moved to {paths.quarantine / SOURCE / month}/"
    ]
    for entry, failures in implicated:
        zone.record(
            SOURCE,
            month,
            entry.original_name,
            entry.sha256,
            entry.rows,
            paths.raw / entry.object_path,
            status="quarantined",
        )
        report = quarantine_file(
            paths,
            source=SOURCE,
            month=month,
            original_name=entry.original_name,
            sha256=entry.sha256,
            landing_file=paths.landing_dir(SOURCE, month) / entry.original_name,
            raw_object=paths.raw / entry.object_path,
            failures=_results_as_dicts(failures),
            what_to_do=WHAT_TO_DO.format(month=month),
        )
        lines.append(f"  - {entry.original_name} (report: {report})")
        for failure in failures:
            lines.append(
                f"      {failure.rule} [{failure.severity}, {failure.expectation}]: "
                f"{failure.description} Observed: {failure.observed_value}"
            )
            for row in failure.offending_rows[:3]:
                lines.append(f"        {_describe_row(row)}")
    lines.append(f"  Data Docs: {(paths.quality_docs / 'index.html').as_uri()}")
    lines.append(f"  Nothing of {month} was published; serving.duckdb is unchanged.")
    raise QualityGateError("\n".join(lines))
