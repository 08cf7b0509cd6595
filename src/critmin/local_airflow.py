"""``critmin airflow`` (``make airflow``): Airflow's UI, scheduler and REST API on this machine.

The embedded runner's Airflow home (``$CRITMIN_HOME/airflow``, SQLite metadata) served by Airflow's
own components, each in its own process group: ``api-server`` (UI, REST API and the execution API
on 127.0.0.1; started through ``critmin.api_server``, which keeps it answering while a click waits
for SQLite's lock), ``scheduler`` (LocalExecutor: each task a process on this machine; started through
``critmin.scheduler``, which imports the tasks' libraries once, before the workers are forked),
``dag-processor`` and ``triggerer``. Their logs go to ``$CRITMIN_HOME/logs/airflow/<component>.log``
(rewritten at each start); task logs are in the UI.

- **Login**: Airflow's SimpleAuthManager, user ``admin``. Its password is in the file the api-server
  reads (``$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated``): set from
  ``CRITMIN_AIRFLOW_PASSWORD`` when that is set, else kept from the last start, else generated.
- **One owner per home**: while it runs, this holds an exclusive ``flock`` on
  ``$CRITMIN_HOME/airflow/local-airflow.lock`` (its pid, URL and process groups written in it), and
  the components inherit it. The embedded runner (``make run-month``, ``make demo``, ``make
  run-registers``) refuses to run on the home meanwhile (its ``dag.test()`` would collide with this
  scheduler), and this refuses to start while an embedded run holds the lock (shared).
- **Stopping**: Ctrl-C, SIGTERM or SIGHUP stops every process group it started (SIGTERM, then
  SIGKILL after a bounded wait), and every process seen descending from them or started with its
  environment (a task runs in a process group of its own). A component that dies stops the
  others: nothing is restarted.

``running(settings, port)`` does all of this as a context manager (for tests); ``serve`` adds the
banner, the signals and the wait. This module supervises the processes; the login, secrets, port
and health check are :mod:`critmin.airflow_access`, the home's lock :mod:`critmin.airflow_home`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from critmin.airflow_access import (
    HOST,
    PASSWORD_VARIABLE,
    USER,
    api_secrets,
    check_port,
    health,
    password_file,
    set_password,
    unhealthy,
)
from critmin.airflow_home import (
    LocalAirflowError,
    airflow_environment,
    claim_home,
    local_airflow_lock,
    write_holder,
)
from critmin.processes import command_line, descendants, group_alive, process_table

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from critmin.settings import Settings

#: Airflow's components, in the order they start.
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
#: Airflow's command line, as the api-server's: kept answering while a click waits for SQLite's lock.
API_SERVER = (sys.executable, "-m", "critmin.api_server")
#: Airflow's scheduler, with the task processes' libraries imported before it forks its workers.
SCHEDULER = (sys.executable, "-m", "critmin.scheduler")
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
#: In the environment of every process started here: how leftovers are found at the end.
MARKER_VARIABLE = "CRITMIN_LOCAL_AIRFLOW"
#: The LocalExecutor's worker processes (Airflow's default, 32, is a lot of processes for a laptop).
PARALLELISM = 4
INIT_TIMEOUT = 600.0
READY_TIMEOUT = 300.0
STOP_TIMEOUT = 30.0


@dataclass
class LocalAirflow:
    """A running local Airflow: where it is, how to log in, what it started."""

    url: str
    user: str
    password: str = field(repr=False)
    password_file: Path
    #: where the password came from: "CRITMIN_AIRFLOW_PASSWORD", "kept" (from the file) or "generated"
    password_source: str
    logs: Path
    lock_file: Path
    marker: str
    processes: dict[str, subprocess.Popen] = field(default_factory=dict, repr=False)
    #: Every descendant seen (pid -> start time): a task runs in a process group of its own, and
    #: Airflow's process titles overwrite the environment /proc shows, so the marker can miss it.
    known: dict[int, str] = field(default_factory=dict, repr=False)

    @property
    def pids(self) -> dict[str, int]:
        """Each component's pid, which is also its process group."""
        return {name: process.pid for name, process in self.processes.items()}

    def log_file(self, component: str) -> Path:
        return self.logs / f"{component}.log"

    def exited(self) -> dict[str, int]:
        """The components that have exited, with their exit codes."""
        return {
            name: code for name, process in self.processes.items() if (code := process.poll()) is not None
        }

    def remember(self) -> None:
        """Note every process descended from a component now (while their parents still live)."""
        table = process_table()
        for pid in descendants(table or {}, set(self.pids.values())):
            self.known.setdefault(pid, table[pid].start if table else "")

    def alive(self) -> list[int]:
        """Processes still alive that were started here: in a component's process group, seen as a
        descendant, or with this start's marker in their environment."""
        groups = set(self.pids.values())
        table = process_table()
        if table is None:  # no /proc (macOS): the process groups only
            return sorted(group for group in groups if group_alive(group))
        needle = f"{MARKER_VARIABLE}={self.marker}".encode()
        return [
            pid
            for pid, proc in table.items()
            if proc.running
            and (proc.group in groups or self.known.get(pid) == proc.start or _has(pid, needle))
        ]

    def leftovers(self) -> list[str]:
        """What ``alive`` finds, with each one's command line."""
        return [f"{pid}: {command_line(pid)}" for pid in self.alive()]


# --- the environment and the login ---------------------------------------------------------------


def server_environment(
    settings: Settings, port: int, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The components' environment: ``base`` (default: this process's), the embedded Airflow's
    settings where ``base`` has none, the critmin settings, and what the server shape needs."""
    env = dict(os.environ if base is None else base)
    env.pop(PASSWORD_VARIABLE, None)  # the api-server reads the password file, not this
    for key, value in airflow_environment(settings, env).items():
        env.setdefault(key, value)
    # Each task is a process of its own here: a run's lease lapses by time, not with a process.
    env.update(dataclasses.replace(settings, single_process_runs=False).environment())
    url = f"http://{HOST}:{port}"
    bin_dir = str(Path(sys.executable).parent)
    env.update(
        {
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__API__HOST": HOST,
            "AIRFLOW__API__PORT": str(port),
            # Tasks reach Airflow through this; it does not follow the port by itself.
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
            "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(password_file(env)),
            "PATH": bin_dir + os.pathsep + env.get("PATH", os.defpath),
            "NO_COLOR": "1",
        }
    )
    # The LocalExecutor starts this many worker processes; one warehouse writer at a time anyway.
    env.setdefault("AIRFLOW__CORE__PARALLELISM", str(PARALLELISM))
    # The api-server signs tokens the other components check: one secret for all, kept with the
    # home so that a restart does not log everyone out.
    for key, value in api_secrets(settings.paths.airflow_home).items():
        env.setdefault(key, value)
    return env


# --- the home's lock -----------------------------------------------------------------------------


# --- processes -----------------------------------------------------------------------------------


def _has(pid: int, needle: bytes) -> bool:
    try:
        return needle in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


def _signal_all(air: LocalAirflow, signum: int) -> None:
    for pgid in air.pids.values():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signum)
    for pid in air.alive():  # tasks, in process groups of their own
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def _wait_gone(air: LocalAirflow, timeout: float, hurry: threading.Event) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        for process in air.processes.values():
            process.poll()  # reap the group leaders
        air.remember()
        if not air.alive():
            return True
        if time.monotonic() > deadline or hurry.is_set():
            return False
        time.sleep(0.3)


def stop(
    air: LocalAirflow, timeout: float = STOP_TIMEOUT, report: Callable[[str], None] | None = None
) -> list[str]:
    """SIGTERM everything started, SIGKILL what is left after ``timeout`` (at once on another
    Ctrl-C, which cannot interrupt the stop); return what is still alive after that (normally
    nothing)."""
    hurry = threading.Event()
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            previous[signum] = signal.signal(signum, lambda *_: hurry.set())
    try:
        if report and air.processes:
            report("Stopping Airflow ...")
        air.remember()
        _signal_all(air, signal.SIGTERM)
        if not _wait_gone(air, timeout, hurry):
            _signal_all(air, signal.SIGKILL)
            _wait_gone(air, 10.0, threading.Event())
        for process in air.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        return air.leftovers()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"    ({path} is missing)"
    return "\n".join(f"    {line}" for line in text.splitlines()[-lines:])


def _airflow_command() -> str:
    beside = Path(sys.executable).parent / "airflow"
    return str(beside) if beside.exists() else (shutil.which("airflow") or "airflow")


def _launch(air: LocalAirflow, name: str, command: list[str], env: Mapping[str, str], keep: int) -> None:
    log_path = air.log_file(name)
    with log_path.open("wb") as log:
        log.write(f"$ {' '.join(command)}\n".encode())
        log.flush()
        air.processes[name] = subprocess.Popen(
            command,
            env=dict(env),
            cwd=env["AIRFLOW_HOME"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Ctrl-C in the terminal is ours to pass on
            pass_fds=(keep,) if keep >= 0 else (),
        )


def _init_metadata(air: LocalAirflow, env: Mapping[str, str], timeout: float) -> None:
    """The embedded runner's init (migrations once, the critmin_warehouse pool), in a process of
    its own: this one never imports Airflow, whose settings are fixed at import."""
    code = "from critmin.airflow_home import init_metadata; init_metadata()"
    _launch(air, "init", [sys.executable, "-c", code], env, -1)
    process = air.processes["init"]
    try:
        code_ = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise LocalAirflowError(
            f"initialising the metadata database took over {timeout:.0f} s; see {air.log_file('init')} "
            f"and {Path(env['AIRFLOW_HOME']) / 'init.log'}"
        ) from None
    if code_ != 0:
        raise LocalAirflowError(
            f"initialising the metadata database failed (exit {code_}):\n"
            f"{tail(Path(env['AIRFLOW_HOME']) / 'init.log')}\n{tail(air.log_file('init'))}"
        )
    del air.processes["init"]


def _wait_ready(air: LocalAirflow, since: dt.datetime, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        exited = air.exited()
        if exited:
            name, code = next(iter(exited.items()))
            raise LocalAirflowError(
                f"{name} exited with code {code} while starting; the end of {air.log_file(name)}:\n"
                f"{tail(air.log_file(name))}"
            )
        try:
            answer: dict | None = health(air.url)
        except (OSError, ValueError):
            answer = None
        bad = unhealthy(answer, since)
        if not bad:
            return
        if time.monotonic() > deadline:
            logs = "\n".join(f"  {name} ({air.log_file(name)}):\n{tail(air.log_file(name))}" for name in bad)
            raise LocalAirflowError(
                f"Airflow was not healthy after {timeout:.0f} s: {', '.join(bad)} not ready "
                f"(GET {air.url}/api/v2/monitor/health: {json.dumps(answer) if answer else 'no answer'}).\n"
                f"The end of their logs:\n{logs}"
            )
        time.sleep(2)


@contextlib.contextmanager
def running(
    settings: Settings,
    port: int,
    *,
    environ: Mapping[str, str] | None = None,
    ready_timeout: float = READY_TIMEOUT,
    stop_timeout: float = STOP_TIMEOUT,
    report: Callable[[str], None] = lambda _message: None,
) -> Iterator[LocalAirflow]:
    """Airflow serving ``settings``' home on ``127.0.0.1:port`` until the block ends: every process
    started is stopped on the way out, also on an error or KeyboardInterrupt. ``environ`` is the
    base of the components' environment (default: this process's)."""
    environ = os.environ if environ is None else environ
    env = server_environment(settings, port, environ)
    url = f"http://{HOST}:{port}"
    logs = settings.paths.logs / "airflow"
    marker = f"{os.getpid()}-{secrets.token_hex(8)}"
    env[MARKER_VARIABLE] = marker
    lock_file = local_airflow_lock(settings)
    holder: dict[str, object] = {"pid": os.getpid(), "url": url, "logs": str(logs), "process_groups": {}}
    with claim_home(settings, holder) as lock:
        check_port(port)
        logs.mkdir(parents=True, exist_ok=True)
        secret_file = password_file(env)
        password, source = set_password(secret_file, environ)
        air = LocalAirflow(url, USER, password, secret_file, source, logs, lock_file, marker)
        try:
            report(f"Preparing the metadata database in {env['AIRFLOW_HOME']} ...")
            _init_metadata(air, env, INIT_TIMEOUT)
            since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
            airflow = _airflow_command()
            commands = {
                # Airflow's api-server, less a freeze on SQLite (critmin.api_server says which).
                "api-server": [*API_SERVER, "api-server", "--port", str(port), "--host", HOST],
                "scheduler": [*SCHEDULER, "scheduler", "--skip-serve-logs"],
                "dag-processor": [airflow, "dag-processor"],
                "triggerer": [airflow, "triggerer", "--skip-serve-logs"],
            }
            report(f"Starting {', '.join(COMPONENTS)} (logs in {logs}/); this takes a minute or two ...")
            for name in COMPONENTS:
                _launch(air, name, commands[name], env, lock)
            holder["process_groups"] = air.pids
            write_holder(lock, holder)
            _wait_ready(air, since, ready_timeout)
            yield air
        finally:
            left = stop(air, stop_timeout, report)
            if left:
                holder["left_behind"] = left
                write_holder(lock, holder)
                report("Still running after SIGKILL (stop them by hand):\n" + "\n".join(left))
            else:
                os.ftruncate(lock, 0)


def banner(air: LocalAirflow) -> str:
    from importlib.metadata import version

    trigger = f"{air.url}/api/v2/dags/customs_monthly/dagRuns"
    read_password = (
        f"PASSWORD=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[\"{air.user}\"])' "
        f"{air.password_file})"
    )
    token = (
        f"TOKEN=$(curl -s -X POST {air.url}/auth/token -H 'Content-Type: application/json' \\\n"
        f'        -d "{{\\"username\\": \\"{air.user}\\", \\"password\\": \\"$PASSWORD\\"}}" \\\n'
        "        | python3 -c 'import json, sys; print(json.load(sys.stdin)[\"access_token\"])')"
    )
    source = {
        PASSWORD_VARIABLE: f"set from {PASSWORD_VARIABLE}",
        "kept": f"kept from the last start; set {PASSWORD_VARIABLE} to choose it",
        "generated": f"generated now; set {PASSWORD_VARIABLE} to choose it",
    }[air.password_source]
    return "\n".join(
        [
            f"Airflow {version('apache-airflow')} is running (LocalExecutor, this home's metadata database).",
            f"  URL        {air.url}",
            f"  user       {air.user}",
            f"  password   {air.password}  (in {air.password_file}; {source})",
            f"  logs       {air.logs}/ (one file per component; task logs are in the UI)",
            "",
            "Run a month: in the UI, unpause the DAG customs_monthly, then Trigger it with the",
            '  configuration {"month": "YYYY-MM"}. From a shell, through the REST API:',
            f"    {read_password}",
            f"    {token}",
            f'    curl -X POST {trigger} -H "Authorization: Bearer $TOKEN" \\',
            "        -H 'Content-Type: application/json' \\",
            '        -d \'{"logical_date": null, "conf": {"month": "2025-05"}}\'',
            "make run-month, make demo and make run-registers refuse to run on this home meanwhile.",
            "",
            "Ctrl-C to stop.",
        ]
    )


def serve(settings: Settings, port: int = 8080, *, ready_timeout: float = READY_TIMEOUT) -> int:
    """``critmin airflow``: start, print the banner, wait for Ctrl-C (or SIGTERM, SIGHUP), stop.
    0 once stopped on request, 1 if it could not start or a component died."""

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    # SIGINT too: started in the background by a script, it would be ignored, and Ctrl-C (SIGINT to
    # the process group) is how it stops.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)
    status = 0
    try:
        with running(settings, port, ready_timeout=ready_timeout, report=_say) as air:
            _say("")
            _say(banner(air))
            while not (exited := air.exited()):
                air.remember()  # tasks come and go: note them while their parents live
                time.sleep(2)
            name, code = next(iter(exited.items()))
            print(
                f"critmin airflow: {name} exited with code {code}; stopping the others. "
                f"The end of {air.log_file(name)}:\n{tail(air.log_file(name))}",
                file=sys.stderr,
                flush=True,
            )
            status = 1
    except KeyboardInterrupt:
        pass
    except LocalAirflowError as error:
        print(f"critmin airflow: {error}", file=sys.stderr, flush=True)
        return 1
    _say("Airflow stopped." if status == 0 else "Airflow stopped after a component died.")
    return status


def _say(message: str) -> None:
    """Print, but never fail: a closed terminal (SIGHUP) must not interrupt the stop."""
    with contextlib.suppress(OSError, ValueError):
        print(message, flush=True)
