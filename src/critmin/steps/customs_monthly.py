"""The steps of the ``customs_monthly`` DAG: wait_for_files, land, gate_raw, load, transform,
gate_marts, publish, brief, and the teardown release_warehouse (``critmin.steps.warehouse``).

Each step takes the settings and the data month (parsed once, at the top), and calls the source's
stage (``critmin.sources.gacc``). A failing step raises a ``CritminError`` whose message says what
to do; ``critmin.steps.tasks.run`` turns it into a failed Airflow task. Heavy imports (duckdb,
pandas, dbt, Great Expectations) happen inside the steps, never when the DAG file is parsed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from critmin.errors import CritminError, InputError, WaitedInVain
from critmin.months import Month, month_for_run
from critmin.steps.warehouse import airflow_run_state, publish, release_warehouse, run_ref

if TYPE_CHECKING:
    from collections.abc import Mapping

    from critmin.settings import Settings
    from critmin.sources.gacc.land import Landing
    from critmin.warehouse import RunRef
    from critmin.warehouse.lease import RunState

log = logging.getLogger(__name__)

__all__ = [  # the shared warehouse steps, as this DAG's tasks call them
    "airflow_run_state",
    "publish",
    "release_warehouse",
    "run_ref",
]


def month_of_run(context: Mapping[str, Any]) -> Month:
    """The run's data month: the ``month`` param, else the month before the logical date."""
    params = context.get("params") or {}
    return month_for_run(params.get("month"), context.get("logical_date"))


def latest_month_of_run(context: Mapping[str, Any]) -> Month:
    """The latest data month a run may load: the month it was triggered in (a month's trade cannot
    have been published before the month is over; the current month is let through)."""
    dag_run = context.get("dag_run")
    moment = getattr(dag_run, "run_after", None) or context.get("logical_date")
    if moment is None:
        raise ValueError("this run has neither a run_after nor a logical date")
    return Month.of(moment)


def check_not_in_future(month: Month, latest: Month) -> None:
    if month > latest:
        raise InputError(
            f"landing/gacc/export/{month}/",
            f"{month} is after the current month ({latest}): no customs data can exist for it yet",
            hint="check the month (YYYY-MM) you asked for, and the folder the files are in",
            rule="month_not_in_future",
        )


#: The runs that wait for their month's files: the scheduler's and a backfill's. A run someone
#: triggered (the UI, ``airflow dags trigger``, ``make run-month``, ``dag.test()``) is ``manual``,
#: and fails at once when the files are not there: its month was named by someone who has them.
WAITING_RUN_TYPES = frozenset({"scheduled", "backfill"})
#: The runs that wait for the landing folder to be quiet: the scheduler's, which can find a month
#: being downloaded (a backfill is started by someone who has dropped the files).
QUIET_RUN_TYPES = frozenset({"scheduled"})


def run_type_of(context: Mapping[str, Any]) -> str:
    """The run's type: ``scheduled``, ``backfill``, ``manual``, ``asset_triggered``..."""
    run_type = getattr(context.get("dag_run"), "run_type", None)
    # DagRunType is a str enum; the Task SDK's copy of it has no __str__, so take its value.
    return str(getattr(run_type, "value", run_type))


def files_deadline(month: Month | str) -> datetime:
    """When a scheduled run stops waiting for ``month``'s files: the end of the month after the
    one GACC publishes it in. May 2025 is published around 20 June; its run of 25 June waits
    until the end of July (00:00 UTC on 1 August), past the next month's run of 25 July."""
    first = Month.parse(month).shifted(3).first_day
    return datetime(first.year, first.month, first.day, tzinfo=UTC)


def files_ready(settings: Settings, month: Month | str, now: datetime, quiet_seconds: float = 0.0) -> bool:
    """Whether ``month``'s landing folder has a file to land (what ``land`` reads: anything but
    hidden files), and neither the folder nor a file in it has changed for ``quiet_seconds`` (a
    month is downloaded by hand, a file at a time; a file moved in counts from when it was moved)."""
    from critmin.sources.gacc import SOURCE
    from critmin.sources.gacc.land import candidates

    folder = settings.paths.landing_dir(SOURCE, Month.parse(month))
    files = candidates(folder)
    if not files:
        return False
    if quiet_seconds <= 0:
        return True
    try:
        stats = [path.lstat() for path in (folder, *files)]
    except FileNotFoundError:  # a file moved out while we looked: not settled
        return False
    last_change = max(max(stat.st_mtime, stat.st_ctime) for stat in stats)
    return now.timestamp() - last_change >= quiet_seconds


def wait_for_files(
    settings: Settings, month: Month | str, latest: Month, run_type: str, now: datetime | None = None
) -> bool:
    """The first task: whether the run's month can be landed now.

    A month after ``latest`` (the run's current month) is refused, as ``land`` refuses it. A run
    that does not wait (a manual run) goes on when the month's folder has files, and fails at once
    naming the folder when it has none, as ``land`` would. A scheduled or backfill run waits:
    it goes on once the folder has files (a scheduled run, once it has also not changed for
    ``settings.files_quiet_seconds``); until then it returns False, to be poked again, and at
    ``files_deadline(month)`` with no files it gives up (``WaitedInVain``), naming the folder.
    """
    from critmin.sources.gacc import SOURCE
    from critmin.sources.gacc.land import candidates, no_files_error

    month = Month.parse(month)
    now = now or datetime.now(UTC)
    check_not_in_future(month, latest)
    folder = settings.paths.landing_dir(SOURCE, month)
    if run_type not in WAITING_RUN_TYPES:
        if files_ready(settings, month, now):
            return True
        raise no_files_error(month, folder)
    quiet = settings.files_quiet_seconds if run_type in QUIET_RUN_TYPES else 0.0
    if files_ready(settings, month, now, quiet):
        return True
    deadline = files_deadline(month)
    if not candidates(folder):
        if now >= deadline:
            raise no_files_error(
                month,
                folder,
                f"no files have been landed for {month} by {deadline:%Y-%m-%d %H:%M} UTC, when "
                "scheduled and backfill runs stop waiting for them",
                then=f"clear this run's wait_for_files task, or run the month (make run-month MONTH={month})",
                kind=WaitedInVain,
            )
        log.info(
            "no files in %s yet: waiting for them until %s UTC (GACC publishes a month around the "
            "20th of the next)",
            folder,
            f"{deadline:%Y-%m-%d %H:%M}",
        )
    else:
        log.info(
            "%s has files, changed less than %d s ago: waiting until it has been quiet that long",
            folder,
            quiet,
        )
    return False


def land(settings: Settings, month: Month | str, latest: Month | None = None) -> Landing:
    """Land the month's downloads into the raw zone and record what was found in the Data Docs.

    A month after ``latest`` (the run's current month) is refused. A file the reader refuses is
    quarantined with a report, and the step fails naming it.
    """
    from critmin.sources.gacc.gate import record_landing
    from critmin.sources.gacc.land import land_month

    month = Month.parse(month)
    if latest is not None:
        check_not_in_future(month, latest)
    landing = land_month(settings, month)
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
    from critmin.transform import CUSTOMS, build
    from critmin.warehouse import WarehouseLocked

    month = Month.parse(month)
    keep(settings, run)
    log.info("building the marts after loading %s", month)
    try:
        build(settings, CUSTOMS, [month])
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


def brief(settings: Settings, month: Month | str) -> list[str]:
    """Write the month's brief (Markdown, HTML and the chart) from the serving file just published."""
    from critmin.brief import write_brief

    files = write_brief(settings.paths.serving_db, settings.paths.briefs, Month.parse(month))
    log.info("wrote the brief for %s: %s", month, files.html)
    return [str(files.markdown), str(files.html), str(files.png)]
