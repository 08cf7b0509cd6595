"""The steps of the ``commodity_tables`` DAG: wait_for_files, land, gate_raw, load, transform,
gate_marts, publish, brief, and the teardown release_warehouse.

One run per **release month** (the latest month GACC's tables cover): its flash tables (around the
7th-14th of the next month) and tables 13/14 (later that month). The same shape as
``customs_monthly``: the waiting of ``steps.monthly``, the warehouse lease and publish of
``steps.warehouse``, the stages of ``critmin.sources.gacc_tables``. A release month's load is
``tables:YYYY-MM`` in the record of loads.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from critmin.errors import CritminError, InputError
from critmin.months import Month
from critmin.steps import monthly
from critmin.steps.monthly import MonthlySource, is_backfill, latest_month_of_run, month_of_run, run_type_of
from critmin.steps.warehouse import airflow_run_state, publish, release_warehouse, run_ref

if TYPE_CHECKING:
    from datetime import datetime

    from critmin.settings import Settings
    from critmin.sources.landing import Landing
    from critmin.warehouse import RunRef
    from critmin.warehouse.lease import RunState

log = logging.getLogger(__name__)

__all__ = [
    "airflow_run_state",
    "is_backfill",
    "latest_month_of_run",
    "month_of_run",
    "publish",
    "release_warehouse",
    "run_ref",
    "run_type_of",
]


def _no_files_error(*args: Any, **options: Any) -> InputError:
    from critmin.sources.gacc_tables.land import no_files_error

    return no_files_error(*args, **options)


#: The commodity tables' landing folder, as the waiting and landing steps see it.
TABLES = MonthlySource(
    source="gacc/tables",
    kind="commodity tables",
    published="GACC publishes a month's flash tables around the 7th-14th of the next, tables 13/14 later",
    no_files_error=_no_files_error,
    run_command="make run-tables MONTH={month}",
)


def what(month: Month | str) -> str:
    """The release month's load, as the lease and the record of loads name it."""
    from critmin.warehouse.loads import tables_unit

    return tables_unit(Month.parse(month))


def wait_for_files(
    settings: Settings, month: Month | str, latest: Month, run_type: str, now: datetime | None = None
) -> bool:
    return monthly.wait_for_files(settings, TABLES, month, latest, run_type, now)


def land(
    settings: Settings, month: Month | str, latest: Month | None = None, backfill: bool = False
) -> Landing:
    """Land the release month's tables into the raw zone; a table the reader refuses is
    quarantined with a report, and the step fails naming it (row, column, rule)."""
    from critmin.sources.gacc_tables.gate import record_landing
    from critmin.sources.gacc_tables.land import land_month

    month = Month.parse(month)
    if latest is not None:
        monthly.check_not_in_future(TABLES, month, latest)
    landing = land_month(settings, month, backfill=backfill)
    docs = record_landing(settings, month, landing.checked)
    landing.raise_for_refusals(settings, docs)
    new = sum(1 for f in landing.current if f.is_new)
    log.info("%s: %d current tables (%d new or changed)", month, len(landing.current), new)
    return landing


def gate_raw(settings: Settings, month: Month | str) -> list[dict[str, Any]]:
    from critmin.sources.gacc_tables.gate import gate_raw as run_gate

    return run_gate(settings, Month.parse(month))


def load(
    settings: Settings,
    run: RunRef,
    month: Month | str,
    raw_results: list[dict[str, Any]],
    run_state: RunState | None = None,
) -> int:
    """Take the warehouse lease, then replace the release month's figures."""
    from critmin.sources.gacc_tables.load import load_month
    from critmin.steps.warehouse import take_and_load

    month = Month.parse(month)
    return take_and_load(settings, run, lambda: load_month(settings, month, raw_results, run=run), run_state)


def transform(settings: Settings, run: RunRef, month: Month | str) -> None:
    """dbt build of what the tables feed; a failure puts back what this run loaded."""
    from critmin.steps.warehouse import give_up, keep
    from critmin.transform import AFTER_THE_GATE, build
    from critmin.transform import TABLES as TABLE_SOURCES
    from critmin.warehouse import WarehouseLocked

    keep(settings, run)
    log.info("building the marts after loading the tables of %s", month)
    try:
        build(settings, TABLE_SOURCES, exclude=AFTER_THE_GATE)
    except WarehouseLocked:
        raise
    except CritminError:
        give_up(settings, run)
        raise


def gate_marts(settings: Settings, run: RunRef, month: Month | str) -> list[dict[str, Any]]:
    """The release month's figures against the other releases; on success the load is recorded
    as gated, with every result."""
    from critmin.sources.gacc_tables.gate import gate_marts as run_gate
    from critmin.steps.warehouse import give_up, keep
    from critmin.transform import run_dbt
    from critmin.warehouse import WarehouseLocked, mark_gated

    month = Month.parse(month)
    keep(settings, run)
    try:
        results = run_gate(settings, month)
    except WarehouseLocked:
        raise
    except CritminError:
        give_up(settings, run)
        raise
    mark_gated(settings.paths.warehouse_db, run, results, month)
    run_dbt(settings, ["build", "--select", "data_quality_results"])
    keep(settings, run, "gated")
    return results


def brief(settings: Settings, month: Month | str) -> list[str]:
    """Rewrite the month's brief, which leads with the headline series once it is published."""
    from critmin.steps.customs_monthly import brief as write_brief

    return write_brief(settings, month)
