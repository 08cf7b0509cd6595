"""The commodity tables' quality gates: what each suite validates for a release month.

- landing: what landing found, table by table (``gacc_table_files``: readable, or refused and why);
- raw: each current table's figures (``gacc_table_figures``), before anything is loaded: no
  negative quantity or value, numbers that fit the warehouse's columns, and the table's own
  year-to-date y/y % agreeing with the figures it prints beside it;
- marts: after dbt builds, each figure of the release set against the other releases
  (``gacc_table_release``, from the dbt audit model ``audit.audit_commodity_releases``): the month
  plus the previous year to date equals this year to date (a warning naming the gap, as GACC's
  own import tables often miss by a few tonnes; critical past 1% of the total, which no genuine
  release shows), the monthly tables' single-month y/y % against last year's month as landed (a
  warning: that month may since have been revised), and a figure a later release restates
  differently (a revision: warned of, kept).

This module builds the frames; running the suites, quarantining and the message are the gate
framework's (``critmin.quality.gate``).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from critmin.quality import gate
from critmin.quality.results import as_dicts
from critmin.raw_zone import RawZone, to_load
from critmin.sources.gacc_tables import SOURCE, WHAT_TO_DO
from critmin.sources.gacc_tables.read import load_catalogue, read_table
from critmin.sources.landing import kept_note
from critmin.warehouse import query_frame

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    import pandas as pd

    from critmin.months import Month
    from critmin.quality.results import CheckResult
    from critmin.raw_zone import ManifestEntry
    from critmin.settings import Settings
    from critmin.sources.gacc_tables.read import CommodityTable, Figure

log = logging.getLogger(__name__)

FILES_DATASET = "gacc_table_files"
RAW_DATASET = "gacc_table_figures"
RELEASE_DATASET = "gacc_table_release"
AUDIT_MODEL = "audit.audit_commodity_releases"
HIDDEN_IN_ROWS = frozenset({"run_month", "quantity_decimals", "release_month"})


def _run(settings: Settings, frame: pd.DataFrame, dataset: str, batch: str, month: Month, index) -> list:
    return gate.run_suite(
        settings, frame, dataset, batch=batch, run_name=f"commodity_tables {month}", index_columns=index
    )


def record_landing(settings: Settings, month: Month, checked: list[dict[str, Any]]) -> Path:
    """Validate what landing found; returns the Data Docs index."""
    import pandas as pd

    columns = ["source_file", "sha256", "data_rows", "refused_rule", "refused_because"]
    frame = pd.DataFrame(checked, columns=columns)
    frame.insert(0, "run_month", str(month))
    for result in _run(settings, frame, FILES_DATASET, str(month), month, ("source_file",)):
        if not result.success:
            log.warning("%s %s: %s — %s", month, result.rule, result.description, result.observed_value)
    return settings.paths.quality_docs_index


# --- raw gate -------------------------------------------------------------------------------------


def _half_unit(decimals: int | None) -> Decimal:
    return Decimal(5) / Decimal(10) ** ((decimals or 0) + 1)


def _decimals(number: Decimal | None) -> int:
    if number is None:
        return 0
    exponent = number.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def yoy_excess(
    current: Decimal, prior: Decimal, printed: Decimal, current_unit: Decimal, prior_unit: Decimal
):
    """How far a printed y/y % lies outside what the two printed figures allow (<= 0: it agrees):
    ``|printed - computed| - tolerance``, the tolerance being one unit of the printed %'s last
    digit (GACC may truncate) plus what rounding each figure to its printed digits can move the
    ratio."""
    if prior <= 0:
        return None, None
    computed = (current / prior - 1) * 100
    rounding = 100 * (current_unit / prior + current * prior_unit / (prior * prior))
    tolerance = 2 * _half_unit(_decimals(printed)) + rounding
    return float(computed), float(abs(printed - computed) - tolerance)


def _yoy_checks(table: CommodityTable, figure: Figure) -> tuple[Any, ...]:
    """The computed y/y % of a year to date and its excess, for quantity and value, against the
    prior year's same period printed in the same table."""
    if figure.printed_as != "current" or figure.period_kind == "month":
        return None, None, None, None
    prior = next(
        (f for f in table.figures if f.series_id == figure.series_id and f.printed_as == "prior_year"), None
    )
    out: list[Any] = [None, None, None, None]
    if prior is None:
        return tuple(out)
    if figure.yoy_quantity_pct is not None and figure.quantity is not None and prior.quantity is not None:
        out[0:2] = yoy_excess(
            figure.quantity,
            prior.quantity,
            figure.yoy_quantity_pct,
            _half_unit(figure.quantity_decimals),
            _half_unit(prior.quantity_decimals),
        )
    if (
        figure.yoy_value_pct is not None
        and figure.value_printed is not None
        and prior.value_printed is not None
    ):
        out[2:4] = yoy_excess(
            figure.value_printed,
            prior.value_printed,
            figure.yoy_value_pct,
            _half_unit(_decimals(figure.value_printed)),
            _half_unit(_decimals(prior.value_printed)),
        )
    return tuple(out)


def _float(number: Decimal | None) -> float | None:
    return None if number is None else float(number)


def table_frame(table: CommodityTable, original_name: str, month: Month) -> pd.DataFrame:
    """One table's figures as the raw suite's batch (see expectations/gacc_table_figures.json)."""
    import pandas as pd

    rows = []
    for figure in table.figures:
        computed_q, excess_q, computed_v, excess_v = _yoy_checks(table, figure)
        rows.append(
            {
                "source_file": original_name,
                "source_line": figure.row,
                "run_month": str(month),
                "series_id": figure.series_id,
                "printed_as": figure.printed_as,
                "period_kind": figure.period_kind,
                "period": f"{figure.period_start}..{figure.period_end}",
                "quantity": _float(figure.quantity),
                "value": _float(figure.value),
                "yoy_quantity_pct": None
                if figure.yoy_quantity_pct is None
                else float(figure.yoy_quantity_pct),
                "yoy_quantity_computed": computed_q,
                "yoy_quantity_excess": excess_q,
                "yoy_value_pct": _float(figure.yoy_value_pct),
                "yoy_value_computed": computed_v,
                "yoy_value_excess": excess_v,
            }
        )
    return pd.DataFrame(rows)


def gate_raw(settings: Settings, month: Month) -> list[dict[str, Any]]:
    """Validate each table of the release month the load will load (every accepted version: the
    current ones and the earlier releases in the month's history); quarantine and fail on a
    critical failure. Returns every result (warnings included), for the load to record."""
    results: list[CheckResult] = []
    failing: list[tuple[ManifestEntry, list[CheckResult]]] = []
    catalogue = load_catalogue(settings.seeds_dir)
    tables = to_load(RawZone(settings.paths.raw), SOURCE, month)
    for entry, batch in tables:
        table = read_table(settings.paths.raw / entry.object_path, month, catalogue)
        frame = table_frame(table, entry.original_name, month)
        table_results = _run(settings, frame, RAW_DATASET, batch, month, ("source_line",))
        results.extend(table_results)
        if critical := gate.critical(table_results):
            failing.append((entry, critical))
    gate.log_warnings(results, str(month), HIDDEN_IN_ROWS)
    if failing:
        _quarantine_and_fail(settings, month, failing, "raw")
    gate.passed(settings, f"{month} ({len(tables)} tables)", results, "raw")
    return as_dicts(results)


# --- mart gate ------------------------------------------------------------------------------------


def gate_marts(settings: Settings, month: Month) -> list[dict[str, Any]]:
    """Set the release month's figures against the other releases; raises ``QualityGateError``
    on a critical failure, quarantining the tables it implicates."""
    frame = query_frame(
        settings.paths.warehouse_db,
        f"select * from {AUDIT_MODEL} where release_month = ? order by all",
        [month.first_day],
    )
    frame.insert(0, "run_month", str(month))
    results = _run(settings, frame, RELEASE_DATASET, str(month), month, ("source_file", "source_line"))
    gate.log_warnings(results, str(month), HIDDEN_IN_ROWS)
    critical = gate.critical(results)
    if critical:
        shas = {str(row.get("source_file_sha256")) for r in critical for row in r.offending_rows}
        current = RawZone(settings.paths.raw).current(SOURCE, str(month))
        implicated = [e for e in current if e.sha256 in shas or not shas]
        _quarantine_and_fail(settings, month, [(entry, critical) for entry in implicated], "mart")
    gate.passed(settings, str(month), results, "mart")
    return as_dicts(results)


def _quarantine_and_fail(
    settings: Settings, month: Month, failing: Sequence[tuple[ManifestEntry, list[CheckResult]]], which: str
) -> None:
    paths = settings.paths
    zone = RawZone(paths.raw)
    by_sha = {entry.sha256: entry for entry, _ in failing}

    def mark_quarantined(item: gate.Implicated) -> str | None:
        entry = by_sha[item.sha256 or ""]
        zone.record(
            SOURCE,
            str(month),
            entry.original_name,
            entry.sha256,
            entry.rows,
            paths.raw / entry.object_path,
            status="quarantined",
        )
        kept = [e for e in zone.current(SOURCE, str(month)) if e.original_name == entry.original_name]
        return kept_note(kept[0]) if kept else None

    gate.quarantine_and_fail(
        settings,
        source=SOURCE,
        month=month,
        gate=which,
        implicated=[
            gate.Implicated(
                original_name=entry.original_name,
                sha256=entry.sha256,
                landing_file=paths.landing_dir(SOURCE, month) / entry.original_name,
                raw_object=paths.raw / entry.object_path,
                failures=failures,
            )
            for entry, failures in failing
        ],
        what_to_do=WHAT_TO_DO.format(month=month),
        on_quarantine=mark_quarantined,
        hidden=HIDDEN_IN_ROWS,
    )
