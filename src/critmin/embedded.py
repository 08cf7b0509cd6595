"""The embedded default: Airflow with SQLite metadata under ``$CRITMIN_HOME/airflow``, no servers.

DAG runs execute in this process with ``dag.test()``. Airflow costs ~20 s to start a process, so
many months are run in one process, one ``dag.test()`` after another (~0.3 s overhead each).
Each run's full log (Airflow, critmin and dbt output) goes to a file of its own,
``$CRITMIN_HOME/logs/<dag_id>/<month>/<started>-<pid>.log``, and ``logs/<dag_id>/<month>.log`` links
to the latest; the console gets one line per month and, on failure, the error that stopped the run.
Two runs with the same logical date (the same month twice, or two months older than the DAG) never
run at once: ``dag.test()`` would replace one's DAG run with the other's, so the second waits.

While ``critmin airflow`` (``make airflow``, :mod:`critmin.local_airflow`) serves a home, the
embedded runner refuses to run on it: ``dag.test()`` replaces a run with the same logical date, and
the running scheduler would execute the embedded run's tasks too. ``critmin airflow`` holds an
exclusive ``flock`` on ``$CRITMIN_HOME/airflow/local-airflow.lock`` (with its pid and URL written in
it) and each embedded run holds a shared one: a lock disappears with its process, so no stale file
ever blocks a run.

Call ``configure_environment`` before anything imports ``airflow``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import io
import json
import os
import re
import signal
import sys
import textwrap
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from critmin.errors import CritminError
from critmin.months import Month
from critmin.settings import WAREHOUSE_POOL, Settings, repo_root

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence


#: The connection arguments of Airflow's SQLite metadata database (``sqlite3.connect``): a writer
#: that finds the database locked waits up to this long (Python's default is 5 s) rather than fail.
SQLITE_CONNECT_ARGS = {"timeout": 60.0}
_CONNECT_ARGS = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS"


def airflow_environment(settings: Settings, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Settings of the embedded Airflow. Values already in the environment (``base``, default
    this process's) win.

    On the SQLite metadata database four components (``make airflow``) or a run and a user's
    click write at once: each connection waits for a lock up to a minute
    (``SQLITE_CONNECT_ARGS``) and the database is in WAL mode (``init_metadata``), where readers
    never block the writer, so a click does not fail on "database is locked"."""
    base = os.environ if base is None else base
    home = settings.paths.airflow_home
    connection = base.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home / 'airflow.db'}")
    sqlite = {_CONNECT_ARGS: f"{__name__}.SQLITE_CONNECT_ARGS"} if connection.startswith("sqlite") else {}
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(repo_root() / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": connection,
        **sqlite,
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
        "NO_COLOR": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        # dbt's locks are multiprocessing semaphores that a task process, which ends without
        # running finalizers, leaves to the resource tracker: it removes them, and would also log
        # a warning that a task log shows as an ERROR after a successful dbt build.
        "PYTHONWARNINGS": "ignore:resource_tracker:UserWarning",
    }


def configure_environment(settings: Settings) -> None:
    """Hand the settings to the DAG tasks this process runs (they resolve them from the
    environment, as on a worker), and set up the embedded Airflow unless already configured."""
    settings.paths.airflow_home.mkdir(parents=True, exist_ok=True)
    os.environ.update(settings.environment())
    for key, value in airflow_environment(settings).items():
        os.environ.setdefault(key, value)


def init_metadata() -> None:
    """Create or upgrade the metadata database and the one-slot warehouse pool (idempotent).

    One process at a time: two ``make run-month`` started together on a new home would both
    create the SQLite database and collide on its schema version.
    """
    from airflow import __version__ as airflow_version
    from airflow.models.pool import Pool
    from airflow.utils.db import initdb

    airflow_home = Path(os.environ["AIRFLOW_HOME"])
    airflow_home.mkdir(parents=True, exist_ok=True)
    # Checking an up-to-date database's migrations costs seconds of every run's start: done once
    # per metadata database and Airflow version, remembered beside the database.
    marker = airflow_home / ".critmin-initdb"
    stamp = f"apache-airflow {airflow_version} {os.environ.get('AIRFLOW__DATABASE__SQL_ALCHEMY_CONN', '')}"
    database = airflow_home / "airflow.db"
    with (airflow_home / ".init.lock").open("a") as lock, _captured(airflow_home / "init.log"):
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = database.exists() and marker.exists() and marker.read_text(encoding="utf-8") == stamp
        if not current:
            initdb()
            marker.write_text(stamp, encoding="utf-8")
        connection = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
        if connection.startswith("sqlite:///"):  # the file the connection names, not ours by default
            use_wal(Path(connection.removeprefix("sqlite:///")))
        Pool.create_or_update_pool(
            WAREHOUSE_POOL,
            slots=1,
            description="Tasks that write warehouse.duckdb (DuckDB allows one writer).",
            include_deferred=False,
        )


def use_wal(database: Path) -> str:
    """Put the SQLite database in WAL mode (kept in the file): readers no longer block the writer,
    nor the writer the readers. Returns the journal mode now in force."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(database, timeout=SQLITE_CONNECT_ARGS["timeout"])) as connection:
        (mode,) = connection.execute("pragma journal_mode=wal").fetchone()
    return str(mode)


class _SwitchableStream(io.TextIOBase):
    """Stands in for ``sys.stdout``/``sys.stderr`` for the rest of the process.

    Airflow's loggers keep a reference to the stream they were created with, so the stream object
    must outlive each month's log file: it writes to the current log file while one is open, and to
    the original stream otherwise.
    """

    def __init__(self, default: TextIO, name: str) -> None:
        self.default = default
        self.name = name
        self.target: TextIO | None = None

    def _current(self) -> TextIO:
        if self.target is not None:
            return self.target
        if getattr(self.default, "closed", False):  # a test runner's capture, restored and closed
            self.default = getattr(sys, f"__{self.name}__")
        return self.default

    def write(self, text: str) -> int:
        return self._current().write(text)

    def flush(self) -> None:
        self._current().flush()

    def fileno(self) -> int:
        return self._current().fileno()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._current(), "encoding", "utf-8")


_STAND_INS: dict[str, _SwitchableStream] = {}


def _switchable(name: str) -> _SwitchableStream:
    """The process's one stand-in for ``sys.<name>``, (re)installed. If something replaced
    ``sys.<name>`` since (a test runner does, between tests), the stand-in adopts the new stream as
    its default: loggers created earlier keep writing through the same stand-in."""
    current = getattr(sys, name)
    stand_in = _STAND_INS.get(name)
    if stand_in is None:
        stand_in = _STAND_INS[name] = _SwitchableStream(current, name)
    elif current is not stand_in:
        stand_in.default = current
    setattr(sys, name, stand_in)
    return stand_in


@contextmanager
def _captured(log_file: Path) -> Iterator[None]:
    """Send everything written to stdout/stderr (Python, C extensions, dbt) to a file.

    Both levels are redirected: the file descriptors 1 and 2 (C extensions, subprocesses), and the
    Python streams, through a switchable stand-in that outlives the file.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    streams = _switchable("stdout"), _switchable("stderr")
    for stream in streams:
        stream.flush()
    saved_fds = os.dup(1), os.dup(2)
    with log_file.open("a", encoding="utf-8", errors="replace", buffering=1) as handle:
        os.dup2(handle.fileno(), 1)
        os.dup2(handle.fileno(), 2)
        for stream in streams:
            stream.target = handle
        try:
            yield
        finally:
            for stream in streams:
                stream.target = None
            handle.flush()
            os.dup2(saved_fds[0], 1)
            os.dup2(saved_fds[1], 2)
            os.close(saved_fds[0])
            os.close(saved_fds[1])


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


_ERROR_LINE = re.compile(r"^(critmin\.errors\.\w+|airflow\.\S*AirflowFailException|\w*Error): (.*)")


def error_from_log(log_file: Path) -> str | None:
    """The last exception message in a run's log, with its continuation lines."""
    try:
        lines = log_file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    message: list[str] = []
    for index, line in enumerate(lines):
        match = _ERROR_LINE.match(line)
        if match:
            message = [match.group(2)]
            for follow in lines[index + 1 :]:
                if not follow.startswith("  ") or "File " in follow:
                    break
                message.append(follow)
    return "\n".join(message) if message else None


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


#: The lock file ``critmin airflow`` holds exclusively while it serves a home (see the module doc).
LOCAL_AIRFLOW_LOCK = "local-airflow.lock"


class AirflowRunningError(CritminError):
    """``critmin airflow`` serves this home: an embedded run here would collide with its scheduler."""


def local_airflow_lock(settings: Settings) -> Path:
    return settings.paths.airflow_home / LOCAL_AIRFLOW_LOCK


def lock_holder(lock_file: Path) -> dict:
    """What the holder of the lock wrote in it (pid, url, ...), or ``{}``."""
    try:
        text = lock_file.read_text(encoding="utf-8")
        holder = json.loads(text) if text.strip() else {}
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def process_alive(pid: object) -> bool:
    """Whether ``pid`` (as read from a lock file: anything) is a running process."""
    from critmin.processes import process_alive as alive

    return isinstance(pid, int) and pid > 0 and alive(pid)


def airflow_running_message(lock_file: Path, dag_id: str, conf_hint: str = "") -> str:
    """Why an embedded run refuses while ``critmin airflow`` serves the home, and what to do."""
    holder = lock_holder(lock_file)
    pid, url = holder.get("pid"), holder.get("url") or "URL unknown"
    with_conf = f" with {conf_hint}" if conf_hint else ""
    if pid is not None and not process_alive(pid):
        who = f"pid {pid}, gone, but its components still hold the lock; {url}"
        stop = f"or stop its process groups {holder.get('process_groups') or '(in the lock file)'} first"
    else:
        who = f"pid {pid if pid is not None else 'unknown'}, {url}"
        stop = "or stop it first (Ctrl-C where `make airflow` runs)"
    return (
        f"Airflow is running on this home ({who}): its scheduler would run this command's {dag_id} "
        f"tasks too. Trigger {dag_id} from the UI or the REST API{with_conf}, {stop}. "
        f"(lock: {lock_file})"
    )


@contextmanager
def not_served_by_local_airflow(settings: Settings, dag_id: str, conf_hint: str = "") -> Iterator[None]:
    """Hold the home's lock shared while embedded runs run; refuse at once if ``critmin airflow``
    holds it (``AirflowRunningError``, saying how to run the DAG there instead)."""
    lock_file = local_airflow_lock(settings)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AirflowRunningError(airflow_running_message(lock_file, dag_id, conf_hint)) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
    with _captured(settings.paths.logs / dag_id / "dagbag.log"):
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
    with _captured(log_file), _noting_ctrl_c() as interrupted:
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
