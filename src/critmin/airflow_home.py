"""The embedded Airflow's home (``$CRITMIN_HOME/airflow``): its settings, its SQLite metadata
database, and the lock that keeps ``critmin airflow`` and the embedded runner off each other.

While ``critmin airflow`` (``make airflow``, :mod:`critmin.local_airflow`) serves a home, the
embedded runner refuses to run on it: ``dag.test()`` replaces a run with the same logical date, and
the running scheduler would execute the embedded run's tasks too. ``critmin airflow`` holds an
exclusive ``flock`` on ``$CRITMIN_HOME/airflow/local-airflow.lock`` (``claim_home``, with its pid and
URL written in it) and each embedded run holds a shared one (``not_served_by_local_airflow``): a
lock disappears with its process, so no stale file ever blocks a run.

Call ``configure_environment`` before anything imports ``airflow``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from critmin.errors import CritminError
from critmin.processes import group_alive
from critmin.run_output import captured
from critmin.settings import WAREHOUSE_POOL, Settings, repo_root

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping


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
    # per metadata database and Airflow version, remembered beside the database. The home's own
    # database is named relative to the home, so a copied or restored home (which carries both)
    # is not checked again (0.9 s of its first run); any other by its connection string.
    marker = airflow_home / ".critmin-initdb"
    database = airflow_home / "airflow.db"
    connection = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
    named = "sqlite:///$AIRFLOW_HOME/airflow.db" if connection == f"sqlite:///{database}" else connection
    stamp = f"apache-airflow {airflow_version} {named}"
    with (airflow_home / ".init.lock").open("a") as lock, captured(airflow_home / "init.log"):
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = database.exists() and marker.exists() and marker.read_text(encoding="utf-8") == stamp
        if not current:
            initdb()
            marker.write_text(stamp, encoding="utf-8")
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


class LocalAirflowError(CritminError):
    """Airflow could not be started on this home (the message says why and what to do)."""


def _in_use_message(lock_file: Path) -> str:
    holder = lock_holder(lock_file)
    pid, url = holder.get("pid"), holder.get("url")
    groups = [int(g) for g in (holder.get("process_groups") or {}).values() if str(g).isdigit()]
    if pid is not None and process_alive(pid):
        return f"`critmin airflow` already serves this home (pid {pid}, {url}): use it, or stop it first."
    alive = [g for g in groups if group_alive(g)]
    if alive:
        return (
            f"Airflow components started by a `critmin airflow` that is gone (pid {pid}) still run on "
            f"this home, process groups {alive}: stop them first (kill -TERM -<group>)."
        )
    return (
        "a `critmin run-month`, `demo` or `run-registers` is running on this home: wait for it to "
        "finish, then start Airflow again."
    )


@contextlib.contextmanager
def claim_home(settings: Settings, holder: Mapping[str, object]) -> Iterator[int]:
    """Hold the home's lock exclusively (refusing if anyone holds it) with ``holder`` written in
    it; yield its file descriptor (to pass on to the components)."""
    lock_file = local_airflow_lock(settings)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LocalAirflowError(f"cannot start Airflow: {_in_use_message(lock_file)}") from None
        write_holder(descriptor, holder)
        yield descriptor
    finally:
        os.close(descriptor)  # releases the lock, unless a component left behind holds it too


def write_holder(descriptor: int, holder: Mapping[str, object]) -> None:
    data = (json.dumps(dict(holder), indent=2) + "\n").encode()
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, data, 0)
