"""What both monthly DAGs (``customs_monthly``, ``commodity_tables``) do the same way before they
land: which month a run is for, and whether its files are there to land.

Each DAG names its landing folder and messages with a ``MonthlySource``. A scheduled or backfill
run waits for its month's files (a scheduled run, until the folder has been quiet for
``files_quiet_seconds``) and gives up at ``files_deadline``, naming the folder; a manual run does
not wait.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from critmin.errors import InputError, WaitedInVain
from critmin.months import Month, month_for_run

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from critmin.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MonthlySource:
    """A monthly DAG's landing folder and what its messages say."""

    source: str  # the landing subfolder, e.g. "gacc/export"
    kind: str  # what its files hold, in words: "customs data"
    published: str  # when GACC publishes a month, in words
    no_files_error: Callable[..., InputError]  # (month, folder, problem=None, **options)
    run_command: str  # how a person runs a month: "make run-month MONTH={month}"


def month_of_run(context: Mapping[str, Any]) -> Month:
    """The run's data month: the ``month`` param, else the month before the logical date."""
    params = context.get("params") or {}
    return month_for_run(params.get("month"), context.get("logical_date"))


def is_backfill(context: Mapping[str, Any]) -> bool:
    """Whether the run adds earlier releases to the history: an Airflow backfill, or a run whose
    param ``backfill`` is true (``make run-month MONTH=YYYY-MM BACKFILL=1``)."""
    params = context.get("params") or {}
    return bool(params.get("backfill")) or run_type_of(context) == "backfill"


def latest_month_of_run(context: Mapping[str, Any]) -> Month:
    """The latest data month a run may load: the month it was triggered in (a month's trade cannot
    have been published before the month is over; the current month is let through)."""
    dag_run = context.get("dag_run")
    moment = getattr(dag_run, "run_after", None) or context.get("logical_date")
    if moment is None:
        raise ValueError("this run has neither a run_after nor a logical date")
    return Month.of(moment)


def check_not_in_future(source: MonthlySource, month: Month, latest: Month) -> None:
    if month > latest:
        raise InputError(
            f"landing/{source.source}/{month}/",
            f"{month} is after the current month ({latest}): no {source.kind} can exist for it yet",
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


def files_ready(
    settings: Settings, source: MonthlySource, month: Month | str, now: datetime, quiet_seconds: float = 0.0
) -> bool:
    """Whether ``month``'s landing folder has a file to land (what ``land`` reads: anything but
    hidden files), and neither the folder nor a file in it has changed for ``quiet_seconds`` (a
    month is downloaded by hand, a file at a time; a file moved in counts from when it was moved)."""
    from critmin.sources.landing import candidates

    folder = settings.paths.landing_dir(source.source, Month.parse(month))
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
    settings: Settings,
    source: MonthlySource,
    month: Month | str,
    latest: Month,
    run_type: str,
    now: datetime | None = None,
) -> bool:
    """The first task: whether the run's month can be landed now.

    A month after ``latest`` (the run's current month) is refused, as ``land`` refuses it. A run
    that does not wait (a manual run) goes on when the month's folder has files, and fails at once
    naming the folder when it has none, as ``land`` would. A scheduled or backfill run waits:
    it goes on once the folder has files (a scheduled run, once it has also not changed for
    ``settings.files_quiet_seconds``); until then it returns False, to be poked again, and at
    ``files_deadline(month)`` with no files it gives up (``WaitedInVain``), naming the folder.
    """
    from critmin.sources.landing import candidates

    no_files_error = source.no_files_error
    month = Month.parse(month)
    now = now or datetime.now(UTC)
    check_not_in_future(source, month, latest)
    folder = settings.paths.landing_dir(source.source, month)
    if run_type not in WAITING_RUN_TYPES:
        if files_ready(settings, source, month, now):
            return True
        raise no_files_error(month, folder)
    quiet = settings.files_quiet_seconds if run_type in QUIET_RUN_TYPES else 0.0
    if files_ready(settings, source, month, now, quiet):
        return True
    deadline = files_deadline(month)
    if not candidates(folder):
        run = source.run_command.format(month=month)
        if now >= deadline:
            raise no_files_error(
                month,
                folder,
                f"no files have been landed for {month} by {deadline:%Y-%m-%d %H:%M} UTC, when "
                "scheduled and backfill runs stop waiting for them",
                then=f"clear this run's wait_for_files task, or run the month ({run})",
                kind=WaitedInVain,
            )
        log.info(
            "no files in %s yet: waiting for them until %s UTC (%s)",
            folder,
            f"{deadline:%Y-%m-%d %H:%M}",
            source.published,
        )
    else:
        log.info(
            "%s has files, changed less than %d s ago: waiting until it has been quiet that long",
            folder,
            quiet,
        )
    return False
