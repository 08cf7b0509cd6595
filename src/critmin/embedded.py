"""The embedded default: Airflow with SQLite metadata under ``$CRITMIN_HOME/airflow``, no servers.

DAG runs execute in this process with ``dag.test()``. Airflow costs ~20 s to start a process, so
many months are run in one process, one ``dag.test()`` after another (~0.3 s overhead each).
Each run's full log (Airflow, critmin and dbt output) goes to a file of its own,
``$CRITMIN_HOME/logs/<dag_id>/<month>/<started>-<pid>.log``, and ``logs/<dag_id>/<month>.log`` links
to the latest; the console gets one line per month and, on failure, the error that stopped the run.
Two runs with the same logical date (the same month twice, or two months older than the DAG) never
run at once: ``dag.test()`` would replace one's DAG run with the other's, so the second waits.

While ``critmin airflow`` (``make airflow``) serves a home, the embedded runner refuses to run on
it (the home's lock, :mod:`critmin.airflow_home`). The runs' output capture is
:mod:`critmin.run_output`.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import re
import signal
import textwrap
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from critmin.airflow_home import (
    configure_environment,
    init_metadata,
    not_served_by_local_airflow,
)
from critmin.execution_api import prime as prime_execution_api
from critmin.months import Month
from critmin.run_output import captured, error_from_log

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from pathlib import Path

    from critmin.settings import Settings


@dataclass(frozen=True)
class RunOutcome:
    month: str
    state: str
    seconds: float
    log_file: Path
    error: str | None = None
    #: The state of each task of the run (task_id -> state), e.g. whether it got as far as publish.
    task_states: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.state == "success"

    @property
    def published(self) -> bool:
        return self.task_states.get("publish") == "success"

    @property
    def failed_tasks(self) -> list[str]:
        return [task for task, state in self.task_states.items() if state == "failed"]


def scheduled_date(month: Month):
    """The logical date of the scheduled run that loads ``month``: the 25th of the next month."""
    import pendulum

    run_month = month.shifted(1)
    return pendulum.datetime(run_month.year, run_month.month, 25, 6, tz="UTC")


def run_date(dag, month: Month):
    """The logical date an embedded run of ``month`` gets: the scheduled run's, or the DAG's start
    for a month older than the DAG (``dag.test()`` runs no task before the start date, and would
    report success having done nothing). The month itself is always passed as a param."""
    scheduled = scheduled_date(month)
    start = getattr(dag, "start_date", None)
    return start if start is not None and scheduled < start else scheduled


def load_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        problems = "\n".join(f"{path}: {error}" for path, error in bag.import_errors.items())
        raise RuntimeError(f"DAG files failed to import:\n{problems}")
    dag = bag.dags.get(dag_id)
    if dag is None:
        raise RuntimeError(f"no DAG {dag_id!r} in {bag.dag_folder}")
    # In-process runs fail fast: under dag.test() a retry sleeps its retry_delay in the foreground.
    for task in dag.tasks:
        task.retries = 0
    return dag


#: How long an embedded run waits for the warehouse another process's run holds.
LEASE_WAIT_SECONDS = 3600.0


def embedded_settings(settings: Settings) -> Settings:
    """Each run runs in this one process (a run whose process is gone is dead), and a run waits
    for another process's run to publish rather than failing."""
    return dataclasses.replace(
        settings,
        single_process_runs=True,
        lease_wait_seconds=settings.lease_wait_seconds or LEASE_WAIT_SECONDS,
    )


def _start(settings: Settings, dag_id: str, report: Callable[[str], None]):
    configure_environment(embedded_settings(settings))
    report(f"Starting Airflow (embedded, metadata in {settings.paths.airflow_home})...")
    init_metadata()
    _enable_critmin_loggers()
    with captured(settings.paths.logs / dag_id / "dagbag.log"):
        prime_execution_api()
        return load_dag(dag_id)


def _enable_critmin_loggers() -> None:
    """Airflow configures logging with ``disable_existing_loggers``: a critmin module imported
    before Airflow (by a caller of this runner) would have its logger silenced, and its warnings
    would be missing from the run logs."""
    import logging

    for name, logger in logging.root.manager.loggerDict.items():
        if (name == "critmin" or name.startswith("critmin.")) and isinstance(logger, logging.Logger):
            logger.disabled = False


def run_log_file(settings: Settings, dag_id: str, label: str) -> Path:
    """A new log file for one run of ``label`` (a month or a day), and the link to it that names
    the latest run: ``logs/<dag_id>/<label>.log``."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    folder = settings.paths.logs / dag_id / label
    folder.mkdir(parents=True, exist_ok=True)
    log_file = folder / f"{stamp}-{os.getpid()}.log"
    latest = settings.paths.logs / dag_id / f"{label}.log"
    partial = latest.with_name(f".{latest.name}.{os.getpid()}.link")
    partial.unlink(missing_ok=True)
    partial.symlink_to(log_file.relative_to(latest.parent))
    os.replace(partial, latest)  # a plain file from before per-run logs is replaced too
    return log_file


@contextmanager
def one_run_per_date(
    settings: Settings, dag_id: str, logical_date: object, label: str, report: Callable[[str], None]
) -> Iterator[None]:
    """Wait while another process runs ``dag_id`` with the same logical date: ``dag.test()`` would
    replace its DAG run (and fail it) with this one."""
    folder = settings.paths.airflow_home / "embedded-runs"
    folder.mkdir(parents=True, exist_ok=True)
    key = re.sub(r"[^0-9A-Za-z]+", "-", f"{dag_id}-{logical_date}").strip("-")
    with (folder / f"{key}.lock").open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            other = handle.read().strip() or "another process"
            report(f"    {dag_id} {label}: waiting for {other} to finish (the same DAG run date)")
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"the run of {label} in process {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped an embedded run: what it loaded was put back."""

    def __init__(self, outcome: RunOutcome) -> None:
        super().__init__(outcome.error)
        self.outcome = outcome


def _after_interruption(settings: Settings, label: str, task_states: Mapping[str, str]) -> str:
    """What Ctrl-C left, in words, once nothing of this run is left half done: what the run still
    holds is put back and the warehouse freed here (the process lives on, so no other run would
    take its lease for dead); usually its teardown has already done so."""
    from critmin.warehouse.lease import WarehouseLease

    lease = WarehouseLease(settings)
    holder, _ = lease.read()
    if holder is not None and holder.pid == os.getpid():
        lease.put_back_and_release(holder.run)
    if task_states.get("publish") == "success":
        return f"{label} had been published before the interruption."
    if task_states.get("load") == "success" or holder is not None and holder.pid == os.getpid():
        return f"nothing of {label} was published: what it loaded was put back and the warehouse freed."
    return f"nothing of {label} was loaded or published."


@contextmanager
def _noting_ctrl_c() -> Iterator[list[bool]]:
    """Note a Ctrl-C (SIGINT) during the block, then raise KeyboardInterrupt as Python does. A
    task catches it as its own failure, and the run's teardown puts back what it loaded; the note
    says the run was interrupted rather than failed."""
    noted: list[bool] = []
    previous = signal.getsignal(signal.SIGINT)

    def note(signum, frame):
        noted.append(True)
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield noted  # signals reach only the main thread: nothing to note here
        return
    signal.signal(signal.SIGINT, note)
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, previous)


def _run_once(settings: Settings, dag, logical_date, conf: dict, label: str, log_file: Path) -> RunOutcome:
    """One dag.test() with its output in ``log_file``; never raises for a failed run. Ctrl-C
    raises ``RunInterrupted`` once what the run loaded is put back."""
    started = time.monotonic()
    began = datetime.now(UTC)
    task_states: dict[str, str] = {}
    run = None
    with captured(log_file), _noting_ctrl_c() as interrupted, _run_ids_naming(conf.get("month")):
        try:
            run = dag.test(logical_date=logical_date, run_conf=conf)
            state = str(getattr(run, "state", "failed") or "failed")
        except KeyboardInterrupt:
            interrupted.append(True)
        except Exception as exc:  # an error outside any task (e.g. bad params)
            print(f"critmin.errors.RunError: {exc}", flush=True)
            state = "failed"
        if run is not None:
            try:
                task_states = _task_states(run.dag_id, run.run_id)
                _as_it_ran(run.dag_id, run.run_id, began, conf)
            except Exception as exc:  # the run's outcome stands; only the details are missing
                print(f"could not read or date the run in Airflow's metadata: {exc}", flush=True)
        if interrupted:
            print("critmin: interrupted (Ctrl-C)", flush=True)
            said = _after_interruption(settings, label, task_states)
            print(f"critmin: {said}", flush=True)
            seconds = time.monotonic() - started
            raise RunInterrupted(RunOutcome(label, "interrupted", seconds, log_file, said, task_states))
    state = state.rsplit(".", 1)[-1].lower()
    error = None if state == "success" else error_from_log(log_file)
    return RunOutcome(label, state, time.monotonic() - started, log_file, error, task_states)


@contextmanager
def _run_ids_naming(month: object) -> Iterator[None]:
    """Name the data month in the run ids ``dag.test()`` makes: ``manual__2025-05__<when>``, not
    ``manual__<when>``, so Airflow's grid and run list say which month each run is (a triggered run
    is named by whoever triggers it)."""
    from airflow.models.dagrun import DagRun

    if not month:
        yield
        return
    original = DagRun.generate_run_id

    def named(*, run_type: Any, logical_date: datetime | None = None, run_after: datetime) -> str:
        run_id = original(run_type=run_type, logical_date=logical_date, run_after=run_after)
        kind, separator, when = run_id.partition("__")
        return f"{kind}__{month}__{when}" if separator else f"{month}__{run_id}"

    DagRun.generate_run_id = staticmethod(named)  # type: ignore[method-assign]
    try:
        yield
    finally:
        DagRun.generate_run_id = staticmethod(original)  # type: ignore[method-assign]


def _as_it_ran(dag_id: str, run_id: str, began: datetime, conf: Mapping[str, object]) -> None:
    """Record the run in Airflow's metadata as it ran: ``dag.test()`` dates a run's start by its
    logical date (the UI showed a 20-second run as lasting weeks), and nothing in the grid said
    which data month a run is: its note does."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        dag_run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one_or_none()
        if dag_run is None:
            return
        dag_run.start_date = began
        if conf.get("month"):
            backfill = " (backfill: earlier releases added)" if conf.get("backfill") else ""
            dag_run.note = f"Data month {conf['month']}{backfill}. Run by critmin in this process."


def metadata_run_state(settings: Settings) -> Callable[[str, str], str | None] | None:
    """How an operator command asks Airflow for a DAG run's state: through the metadata database
    this process is configured for (the embedded home's, unless the environment names another),
    or None when it cannot reach one (a worker holds no database credentials)."""
    production = os.environ.get("AIRFLOW__CORE__EXECUTOR", "").endswith("CeleryExecutor")
    if production and not os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):
        return None  # never the embedded database on a production worker
    try:
        configure_environment(settings)
        from airflow.models.dagrun import DagRun
        from airflow.utils.session import create_session
    except Exception:
        return None

    def state(dag_id: str, run_id: str) -> str | None:
        with create_session() as session:
            found = session.query(DagRun.state).filter_by(dag_id=dag_id, run_id=run_id).one_or_none()
        return None if found is None else str(found[0]).rsplit(".", 1)[-1].lower()

    return state


def _task_states(dag_id: str, run_id: str) -> dict[str, str]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(TaskInstance.task_id, TaskInstance.state).filter_by(dag_id=dag_id, run_id=run_id)
        return {task_id: str(state).rsplit(".", 1)[-1].lower() for task_id, state in rows}


def run_months(
    settings: Settings,
    months: Sequence[Month | str],
    *,
    dag_id: str = "customs_monthly",
    report: Callable[[str], None] = print,
    stop_on_failure: bool = True,
    backfill: bool = False,
) -> list[RunOutcome]:
    """Run the DAG once per month, in the order given, in this process; ``backfill`` adds earlier
    releases to the months' history (the DAGs' param ``backfill``)."""
    from critmin.quality.gate import deferred_docs

    parsed = [Month.parse(m) for m in months]
    hint = json.dumps({"month": str(parsed[0]) if len(parsed) == 1 else "YYYY-MM"})
    with not_served_by_local_airflow(settings, dag_id, hint):
        dag = _start(settings, dag_id, report)
        with deferred_docs(settings):
            outcomes = _run_each(settings, dag, dag_id, parsed, report, stop_on_failure, backfill)
    if len(parsed) > 1 and settings.paths.quality_docs_index.exists():
        report(f"Data Docs (every validation of these runs): {settings.paths.quality_docs_index.as_uri()}")
    return outcomes


def _run_each(
    settings: Settings,
    dag,
    dag_id: str,
    months: Sequence[Month],
    report: Callable[[str], None],
    stop_on_failure: bool,
    backfill: bool,
) -> list[RunOutcome]:
    """One DAG run per month, in order; the console line of each, and its error when it fails."""
    outcomes: list[RunOutcome] = []
    width = len(str(len(months)))
    for index, month in enumerate(months, start=1):
        # Dated as the scheduler would date it (the 25th of the next month); every param is
        # passed because dag.test() keeps resolved params between runs.
        logical_date = run_date(dag, month)
        with one_run_per_date(settings, dag_id, logical_date, str(month), report):
            log_file = run_log_file(settings, dag_id, str(month))
            counter = f"[{index:>{width}}/{len(months)}] {dag_id} {month}"
            try:
                conf = {"month": str(month), "backfill": backfill}
                outcome = _run_once(settings, dag, logical_date, conf, str(month), log_file)
            except RunInterrupted as interrupted:
                report(f"{counter}: interrupted  (log: {log_file})")
                report(f"    {interrupted.outcome.error}")
                raise
        outcomes.append(outcome)
        report(f"{counter}: {outcome.state} in {outcome.seconds:.1f} s  (log: {log_file})")
        if not outcome.ok:
            report(textwrap.indent(outcome.error or "see the log for the failed task", "    "))
            if stop_on_failure:
                break
    return outcomes


def run_registers(settings: Settings, *, report: Callable[[str], None] = print, as_of=None) -> RunOutcome:
    """Run the registers DAG once, dated today (as the daily schedule would) unless ``as_of``."""
    import pendulum

    with not_served_by_local_airflow(settings, "registers"):
        dag = _start(settings, "registers", report)
        logical_date = as_of or pendulum.now("UTC").start_of("day")
        day = logical_date.date().isoformat()
        with one_run_per_date(settings, "registers", logical_date, day, report):
            log_file = run_log_file(settings, "registers", day)
            try:
                outcome = _run_once(settings, dag, logical_date, {}, day, log_file)
            except RunInterrupted as interrupted:
                report(f"registers {day}: interrupted  (log: {log_file})")
                report(f"    {interrupted.outcome.error}")
                raise
    report(f"registers {outcome.month}: {outcome.state} in {outcome.seconds:.1f} s  (log: {log_file})")
    if not outcome.ok:
        report(textwrap.indent(outcome.error or "see the log for the failed task", "    "))
    return outcome
