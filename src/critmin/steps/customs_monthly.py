"""The steps of the ``customs_monthly`` DAG: wait_for_files, land, gate_raw, load, transform,
gate_marts, publish, brief, and the teardown release_warehouse (``critmin.steps.warehouse``).

Each step takes the settings and the data month (parsed once, at the top), and calls the source's
stage (``critmin.sources.gacc``). A failing step raises a ``CritminError`` whose message says what
to do; ``critmin.steps.tasks.run`` turns it into a failed Airflow task. Heavy imports (duckdb,
pandas, dbt, Great Expectations) happen inside the steps, never when the DAG file is parsed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from critmin.errors import CritminError, InputError
from critmin.months import Month
from critmin.steps import monthly
from critmin.steps.monthly import (
    QUIET_RUN_TYPES,
    WAITING_RUN_TYPES,
    MonthlySource,
    files_deadline,
    is_backfill,
    latest_month_of_run,
    month_of_run,
    run_type_of,
)
from critmin.steps.warehouse import airflow_run_state, publish, release_warehouse, run_ref

if TYPE_CHECKING:
    from datetime import date, datetime

    from critmin.settings import Settings
    from critmin.sources.landing import Landing
    from critmin.warehouse import RunRef
    from critmin.warehouse.lease import RunState

log = logging.getLogger(__name__)

__all__ = [  # the shared steps, as this DAG's tasks call them
    "QUIET_RUN_TYPES",
    "WAITING_RUN_TYPES",
    "airflow_run_state",
    "files_deadline",
    "is_backfill",
    "latest_month_of_run",
    "month_of_run",
    "publish",
    "release_warehouse",
    "run_ref",
    "run_type_of",
]


#: The magnet downloads' landing folder, as the waiting and landing steps see it.
CUSTOMS = MonthlySource(
    source="gacc/export",
    kind="customs data",
    published="GACC publishes a month around the 20th of the next",
    no_files_error=lambda *args, **options: _no_files_error(*args, **options),
    run_command="make run-month MONTH={month}",
)


def _no_files_error(*args: Any, **options: Any) -> InputError:
    from critmin.sources.gacc.land import no_files_error

    return no_files_error(*args, **options)


def check_not_in_future(month: Month, latest: Month) -> None:
    monthly.check_not_in_future(CUSTOMS, month, latest)


def files_ready(settings: Settings, month: Month | str, now: datetime, quiet_seconds: float = 0.0) -> bool:
    return monthly.files_ready(settings, CUSTOMS, month, now, quiet_seconds)


def wait_for_files(
    settings: Settings, month: Month | str, latest: Month, run_type: str, now: datetime | None = None
) -> bool:
    """The first task: whether the run's month can be landed now (``monthly.wait_for_files``)."""
    return monthly.wait_for_files(settings, CUSTOMS, month, latest, run_type, now)


def land(
    settings: Settings, month: Month | str, latest: Month | None = None, backfill: bool = False
) -> Landing:
    """Land the month's downloads into the raw zone and record what was found in the Data Docs.

    A month after ``latest`` (the run's current month) is refused. A file the reader refuses is
    quarantined with a report, and the step fails naming it.
    """
    from critmin.sources.gacc.gate import record_landing
    from critmin.sources.gacc.land import land_month

    month = Month.parse(month)
    if latest is not None:
        check_not_in_future(month, latest)
    landing = land_month(settings, month, backfill=backfill)
    docs = record_landing(settings, month, landing.checked)
    landing.raise_for_refusals(settings, docs)
    new = sum(1 for f in landing.current if f.is_new)
    log.info("%s: %d current files (%d new or changed)", month, len(landing.current), new)
    return landing


def gate_raw(settings: Settings, month: Month | str) -> list[dict[str, Any]]:
    """The raw quality gate: returns the results (warnings included) for the load to record."""
    from critmin.sources.gacc.gate import gate_raw as run_gate

    return run_gate(settings, Month.parse(month))


def load(
    settings: Settings,
    run: RunRef,
    month: Month | str,
    raw_results: list[dict[str, Any]],
    run_state: RunState | None = None,
) -> int:
    """Take the warehouse lease (putting back what runs that no longer hold it loaded), then
    replace the month's partition. The lease is held until this run publishes, or puts back what
    it loaded."""
    from critmin.sources.gacc.load import load_month
    from critmin.steps.warehouse import take_and_load

    month = Month.parse(month)
    return take_and_load(settings, run, lambda: load_month(settings, month, raw_results, run=run), run_state)


def transform(settings: Settings, run: RunRef, month: Month | str) -> None:
    """dbt build. A failure puts back what this run loaded and frees the warehouse (the task then
    fails without retry: the month is no longer loaded)."""
    from critmin.steps.warehouse import give_up, keep
    from critmin.transform import AFTER_THE_GATE, CUSTOMS, build
    from critmin.warehouse import WarehouseLocked

    month = Month.parse(month)
    keep(settings, run)
    log.info("building the marts after loading %s", month)
    try:
        build(settings, CUSTOMS, [month], exclude=AFTER_THE_GATE)
    except WarehouseLocked:
        raise  # another process has the file open: retried, still holding the warehouse
    except CritminError:
        give_up(settings, run)
        raise


def gate_marts(settings: Settings, run: RunRef, month: Month | str) -> list[dict[str, Any]]:
    """The mart quality gate. On success the month's load is recorded as gated, with every result
    (published in marts.data_quality_results); on a critical failure, what this run loaded is put
    back."""
    from critmin.sources.gacc.gate import gate_marts as run_gate
    from critmin.steps.warehouse import give_up, keep
    from critmin.transform import run_dbt
    from critmin.warehouse import WarehouseLocked, mark_gated

    month = Month.parse(month)
    keep(settings, run)
    try:
        results = run_gate(settings, month)
    except WarehouseLocked:
        raise  # another process has the file open: retried, still holding the warehouse
    except CritminError:
        give_up(settings, run)
        raise
    mark_gated(settings.paths.warehouse_db, run, results, month)
    run_dbt(settings, ["build", "--select", "data_quality_results"])
    keep(settings, run, "gated")
    return results


def brief(settings: Settings, month: Month | str, as_of: date | None = None) -> list[str]:
    """Write the month's brief (Markdown, HTML and the chart) from the serving file just published,
    every figure as known on the brief's day (the latest release of the month's figures). With
    ``as_of``, the brief as it read on that day, into ``briefs/as-of-YYYY-MM-DD/``."""
    from critmin.brief import write_brief

    folder = settings.paths.briefs / f"as-of-{as_of.isoformat()}" if as_of else settings.paths.briefs
    files = write_brief(settings.paths.serving_db, folder, Month.parse(month), as_of)
    log.info("wrote the brief for %s: %s", month, files.html)
    return [str(files.markdown), str(files.html), str(files.png)]
