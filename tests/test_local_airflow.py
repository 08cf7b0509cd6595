"""``critmin airflow`` (``make airflow``): Airflow's UI, scheduler and REST API on this machine.

The unit tests check the home's lock both ways (the embedded runner refuses while Airflow serves
the home, and Airflow refuses to start during an embedded run), the login and the components'
environment. The end-to-end tests (``e2e``) start ``critmin airflow`` as a user does, on a
temporary home and a free port, log in through the REST API, check ``critmin run-month`` refuses
meanwhile, run the registers and a month through the REST API while the scheduled run that
unpausing created waits for its files, hold SQLite's write lock while a click waits for it and
check the server still answers, log in and trigger a month from the UI's form in Chromium
and read its land log there, and stop it with Ctrl-C (SIGINT to its process group),
leaving no process behind.
``trigger_and_wait`` runs a DAG through the REST API, for tests that run months on it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import signal
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from airflow_cluster import Api, free_port, wait_for
from conftest import REPO, land_sample_month

from critmin import airflow_access, airflow_home, embedded, local_airflow, processes
from critmin.settings import Settings

#: How long `critmin airflow` may take to be ready (four Airflow processes start on a small machine).
READY_TIMEOUT = 420
STOP_TIMEOUT = 90
RUN_TIMEOUT = 900
PASSWORD = "test-password-1234"


# --- the home's lock, the login, the environment (fast) ------------------------------------------


@pytest.fixture
def held(settings):
    """The home's lock held as `critmin airflow` holds it, with its pid and URL written in it."""
    holder = {"pid": os.getpid(), "url": "http://127.0.0.1:18080", "process_groups": {}}
    with airflow_home.claim_home(settings, holder):
        yield holder


def test_embedded_runs_refuse_while_airflow_serves_the_home(settings, held):
    with pytest.raises(airflow_home.AirflowRunningError) as refused:
        embedded.run_months(settings, ["2025-05"], report=lambda _: None)
    message = str(refused.value)
    assert message.startswith("Airflow is running on this home")
    assert f"pid {os.getpid()}" in message and held["url"] in message
    assert 'with {"month": "2025-05"}' in message and "stop it first" in message
    with pytest.raises(airflow_home.AirflowRunningError, match="Trigger registers from the UI"):
        embedded.run_registers(settings, report=lambda _: None)
    assert not (settings.paths.airflow_home / "airflow.db").exists(), "refused before touching Airflow"


def test_the_cli_says_why_and_exits_1(settings, held, capsys):
    from critmin import cli

    assert cli.main(["run-month", "2025-05"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("critmin run-month: Airflow is running on this home")
    assert held["url"] in error


def test_airflow_refuses_to_start_during_an_embedded_run(settings):
    def claim(url: str | None = None):
        return airflow_home.claim_home(settings, {"pid": os.getpid(), "url": url})

    embedded_run = airflow_home.not_served_by_local_airflow(settings, "customs_monthly")
    refused = pytest.raises(airflow_home.LocalAirflowError, match="run-month.*is running on this home")
    with embedded_run, refused, claim():
        pass
    refused = pytest.raises(
        airflow_home.LocalAirflowError, match=r"already serves this home \(pid \d+, http://x\)"
    )
    with claim("http://x"), refused, claim():  # free again, and one `critmin airflow` per home
        pass
    with airflow_home.not_served_by_local_airflow(settings, "customs_monthly"):
        pass  # and free again


def test_the_password_comes_from_the_environment_else_the_file_else_is_generated(tmp_path):
    path = tmp_path / "airflow" / airflow_access.PASSWORDS_FILE
    password, source = airflow_access.set_password(path, {})
    assert source == "generated" and len(password) >= 16
    assert json.loads(path.read_text()) == {"admin": password}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert airflow_access.set_password(path, {}) == (password, "kept")
    chosen = {airflow_access.PASSWORD_VARIABLE: "chosen-one"}
    assert airflow_access.set_password(path, chosen) == ("chosen-one", airflow_access.PASSWORD_VARIABLE)
    assert json.loads(path.read_text()) == {"admin": "chosen-one"}


def test_the_components_environment(settings):
    base = {"PATH": "/usr/bin", airflow_access.PASSWORD_VARIABLE: "secret", "AIRFLOW__CORE__PARALLELISM": "4"}
    env = local_airflow.server_environment(settings, 18123, base)
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18123/execution/"
    assert (env["AIRFLOW__API__PORT"], env["AIRFLOW__API__HOST"]) == ("18123", "127.0.0.1")
    assert env["AIRFLOW_HOME"] == str(settings.paths.airflow_home)
    assert env["CRITMIN_HOME"] == str(settings.paths.home)
    assert env["CRITMIN_SINGLE_PROCESS_RUNS"] == "0", "each task is a process of its own"
    assert airflow_access.PASSWORD_VARIABLE not in env, "the password goes through the file only"
    assert env["AIRFLOW__CORE__PARALLELISM"] == "4", "the caller's Airflow settings are kept"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] == str(
        settings.paths.airflow_home / airflow_access.PASSWORDS_FILE
    )


def test_the_schedulers_preload_imports_the_tasks_libraries_and_starts_no_thread():
    """The scheduler imports them before its LocalExecutor forks the workers (critmin.scheduler):
    a thread started by an import would not exist in the forked task processes."""
    code = (
        "import sys, threading\n"
        "from critmin import scheduler\n"
        "scheduler.preload()\n"
        "print(threading.active_count(), all(name in sys.modules for name in scheduler.PRELOAD))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].split() == ["1", "True"], done.stdout[-2000:]


# --- end to end: `critmin airflow` as a user runs it ---------------------------------------------


@dataclass
class Served:
    """A `critmin airflow` started by the test: its process, home, URL and login."""

    process: subprocess.Popen
    home: Path
    output: Path
    env: dict[str, str]
    url: str = ""
    user: str = ""
    password: str = ""

    @property
    def settings(self) -> Settings:
        return Settings.for_home(self.home)

    def text(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")

    def holder(self) -> dict:
        return airflow_home.lock_holder(airflow_home.local_airflow_lock(self.settings))

    def api(self) -> Api:
        api = Api(self.url)
        api.login(self.user, self.password)
        return api

    def critmin(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """A `critmin` command on the same home."""
        return subprocess.run(
            [sys.executable, "-m", "critmin.cli", *args],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,
        )

    def stop(self) -> int | None:
        """Ctrl-C, as in its terminal; SIGKILL if it is still there after STOP_TIMEOUT."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        return self.process.returncode

    def descendants(self) -> dict[int, str]:
        """Every process below `critmin airflow` now (pid -> start time): components, executor
        workers, tasks (each task in a process group of its own)."""
        table = processes.process_table() or {}
        below = processes.descendants(table, [self.process.pid]) - {self.process.pid}
        return {pid: table[pid].start for pid in below}

    def leftovers(self, seen: dict[int, str]) -> list[str]:
        """Processes still alive among those ``seen``, or started with this home in their
        environment (a process title can hide it: hence both)."""
        needle = f"CRITMIN_HOME={self.home}".encode()
        left = []
        for pid, entry in (processes.process_table() or {}).items():
            proc = Path(f"/proc/{pid}")
            with contextlib.suppress(OSError):  # gone meanwhile
                if entry.running and (
                    seen.get(pid) == entry.start or needle in (proc / "environ").read_bytes().split(b"\0")
                ):
                    left.append(f"{pid}: {(proc / 'cmdline').read_bytes()[:120]!r}")
        return left


def _kill_leftovers(served: Served, seen: dict[int, str]) -> None:
    for line in served.leftovers(seen):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(int(line.split(":")[0]), signal.SIGKILL)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`critmin airflow --port <free>` on a new home, until the module ends (or the last test
    stops it). Stopped and swept also when a test fails."""
    work = tmp_path_factory.mktemp("local-airflow")
    home = work / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CRITMIN_"))}
    env.update({"CRITMIN_HOME": str(home), airflow_access.PASSWORD_VARIABLE: PASSWORD, "NO_COLOR": "1"})
    port = free_port()
    output = work / "critmin-airflow.out"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "critmin.cli", "airflow", "--port", str(port)],
            env=env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, to send it Ctrl-C
        )
    running = Served(process, home, output, env)
    seen: dict[int, str] = {}
    try:
        try:
            wait_for("critmin airflow ready", lambda: "Ctrl-C to stop." in running.text(), READY_TIMEOUT, 2,
                     [("critmin airflow", process)])  # fmt: skip
        except (RuntimeError, TimeoutError) as error:
            pytest.fail(f"{error}\n{running.text()[-5000:]}")
        running.url = re.search(r"^  URL +(\S+)$", running.text(), re.M).group(1)
        running.user = re.search(r"^  user +(\S+)$", running.text(), re.M).group(1)
        shown, password_file = re.search(r"^  password +(\S+)  \(in (\S+);", running.text(), re.M).groups()
        running.password = json.loads(Path(password_file).read_text())[running.user]
        assert shown == running.password, "the banner shows the password the api-server reads"
        seen.update(running.descendants())
        yield running
    finally:
        seen.update(running.descendants())
        running.stop()
        _kill_leftovers(running, seen)


def wait_for_dag(api: Api, dag_id: str, timeout: float = 300) -> dict:
    """The DAG once the dag-processor has parsed it."""
    return wait_for(
        f"DAG {dag_id} parsed", lambda: api.call("GET", f"/api/v2/dags/{dag_id}"), timeout, every=3
    )


def trigger_and_wait(
    api: Api, dag_id: str, conf: dict | None = None, run_id: str | None = None, timeout: float = RUN_TIMEOUT
) -> dict:
    """Unpause the DAG, trigger a run through the REST API (as the banner shows), wait until it
    has finished; the run (``state``: success or failed). Unpausing ``customs_monthly`` also
    creates the run of the latest 25th, whose month may not have landed (it waits at ``wait_for_files``)."""
    wait_for_dag(api, dag_id)
    api.call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
    body: dict = {"logical_date": None, "conf": conf or {}}
    if run_id:
        body["dag_run_id"] = run_id
    run_id = api.call("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)["dag_run_id"]

    def finished():
        run = api.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
        return run if run["state"] in ("success", "failed") else None

    return wait_for(f"{dag_id} run {run_id}", finished, timeout, every=3)


def test_a_port_left_in_time_wait_does_not_block_a_restart_but_a_listener_does():
    import socket
    import time

    port = free_port()
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen()
        with pytest.raises(airflow_home.LocalAirflowError, match=f"port {port} on 127.0.0.1 is in use"):
            airflow_access.check_port(port)
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # the server side closes first: its end stays in TIME_WAIT
        client.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and f":{port:04X} " not in Path("/proc/net/tcp").read_text():
        time.sleep(0.05)
    assert f":{port:04X} " in Path("/proc/net/tcp").read_text(), "the closed connection is in TIME_WAIT"
    airflow_access.check_port(port)  # what a restart right after Ctrl-C does: no refusal


def test_the_api_secrets_are_kept_with_the_home_so_a_restart_keeps_logins(settings):
    home = settings.paths.airflow_home
    first = local_airflow.server_environment(settings, 18080, {})
    again = local_airflow.server_environment(settings, 18081, {})
    for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY"):
        assert first[key] and first[key] == again[key]
    kept = home / airflow_access.SECRETS_FILE
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600, "only the owner reads the signing secrets"
    kept.write_text("{garbled", encoding="utf-8")  # an operator's edit gone wrong: new secrets
    renewed = local_airflow.server_environment(settings, 18080, {})
    assert renewed["AIRFLOW__API_AUTH__JWT_SECRET"] != first["AIRFLOW__API_AUTH__JWT_SECRET"]
    assert (
        json.loads(kept.read_text(encoding="utf-8"))["AIRFLOW__API__SECRET_KEY"]
        == renewed["AIRFLOW__API__SECRET_KEY"]
    )
    chosen = local_airflow.server_environment(settings, 18080, {"AIRFLOW__API_AUTH__JWT_SECRET": "mine"})
    assert chosen["AIRFLOW__API_AUTH__JWT_SECRET"] == "mine", "a secret set in the environment wins"


def task_states(api: Api, dag_id: str, run_id: str) -> dict[str, str]:
    answer = api.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
    return {task["task_id"]: task["state"] for task in answer["task_instances"]}


@pytest.mark.e2e
def test_the_banner_login_health_and_pool(served):
    banner = served.text()
    assert served.url.startswith("http://127.0.0.1:") and served.user == "admin"
    assert served.password == PASSWORD, "the password comes from CRITMIN_AIRFLOW_PASSWORD"
    assert f"password   {PASSWORD}  (in {served.home / 'airflow'}" in banner, (
        "as airflow standalone, it says it"
    )
    assert str(served.home / "logs" / "airflow") in banner and '{"month": "YYYY-MM"}' in banner
    api = served.api()
    health = api.call("GET", "/api/v2/monitor/health")
    assert {
        health[part]["status"] for part in ("metadatabase", "scheduler", "triggerer", "dag_processor")
    } == {"healthy"}
    pool = api.call("GET", "/api/v2/pools/critmin_warehouse")
    assert pool["slots"] == 1
    with pytest.raises(RuntimeError, match="-> 40[13]"):
        Api(served.url).call("GET", "/api/v2/pools/critmin_warehouse")  # no token, no answer
    holder = served.holder()
    assert holder["url"] == served.url and holder["pid"] == served.process.pid
    assert set(holder["process_groups"]) == set(local_airflow.COMPONENTS)
    for component in local_airflow.COMPONENTS:
        assert (served.home / "logs" / "airflow" / f"{component}.log").stat().st_size > 0
    scheduler_log = (served.home / "logs" / "airflow" / "scheduler.log").read_text(errors="replace")
    assert "critmin: imported airflow.sdk.execution_time.task_runner, great_expectations" in scheduler_log, (
        "the task processes' libraries are imported before the workers are forked"
    )


#: How long the lock test holds the metadata database's write lock (well under its minute's wait).
LOCK_HELD = 12


@pytest.mark.e2e
def test_a_click_waiting_for_the_metadata_lock_leaves_the_server_answering(served):
    """A click (unpause) writes an audit row and waits while another writer holds SQLite's lock;
    meanwhile the server answers. Airflow writes that row on the server's event loop, which froze
    every request for the wait (and deadlocked with a task's /run): ``critmin.api_server``."""
    import sqlite3
    import threading
    import time

    api = served.api()
    dag = wait_for_dag(api, "customs_monthly")
    answers: dict[str, object] = {}

    def click():
        answers["click"] = api.call("PATCH", "/api/v2/dags/customs_monthly", {"is_paused": dag["is_paused"]})
        answers["clicked"] = time.monotonic()

    def look():
        answers["health"] = api.call("GET", "/api/v2/monitor/health")
        answers["looked"] = time.monotonic()

    holder = sqlite3.connect(served.home / "airflow" / "airflow.db", isolation_level=None, timeout=60)
    clicking = threading.Thread(target=click, daemon=True)
    looking = threading.Thread(target=look, daemon=True)
    try:
        holder.execute("begin immediate")  # another component's write in progress
        clicking.start()
        time.sleep(3)  # the click reaches its audit row and waits for the lock
        looking.start()
        looking.join(LOCK_HELD)
    finally:
        released = time.monotonic()
        holder.execute("rollback")
        holder.close()
    clicking.join(60)
    looking.join(60)
    assert answers.get("looked", released + 1) < released, (
        "a page waited for the lock a click waits for: the api-server's event loop was blocked"
    )
    assert answers["click"]["is_paused"] == dag["is_paused"], "the click went through once the lock was free"
    assert answers["clicked"] > released, "the click waited for the lock (else this test proves nothing)"


@pytest.mark.e2e
def test_run_month_refuses_while_airflow_serves_the_home(served):
    done = served.critmin("run-month", "2025-05", timeout=120)
    assert done.returncode == 1
    assert "Airflow is running on this home" in done.stderr
    assert f"pid {served.process.pid}" in done.stderr and served.url in done.stderr
    assert 'with {"month": "2025-05"}' in done.stderr
    assert not (served.home / "logs" / "customs_monthly").exists(), "nothing ran"


@pytest.mark.e2e
def test_a_month_and_the_registers_through_the_rest_api_while_a_scheduled_run_waits(served):
    """As a data engineer on the UI: the registers and a month triggered through the REST API run
    to success and are published, while the run that unpausing created (the latest 25th, whose
    month has no files) waits for them in wait_for_files, rescheduled, not failed."""
    from critmin.serving import open_serving

    api = served.api()
    land_sample_month(served.settings.paths, "2025-05")
    registers = trigger_and_wait(api, "registers")
    assert registers["state"] == "success", task_states(api, "registers", registers["dag_run_id"])
    month = trigger_and_wait(api, "customs_monthly", {"month": "2025-05"}, run_id="manual_2025-05")
    assert month["state"] == "success", task_states(api, "customs_monthly", "manual_2025-05")

    def waiting():
        runs = api.call("GET", "/api/v2/dags/customs_monthly/dagRuns?run_type=scheduled")["dag_runs"]
        if len(runs) != 1:
            return None
        states = task_states(api, "customs_monthly", runs[0]["dag_run_id"])
        return (runs[0], states) if states["wait_for_files"] == "up_for_reschedule" else None

    scheduled, states = wait_for("the scheduled run waiting for its files", waiting, 300, every=3)
    assert scheduled["state"] == "running" and states["land"] is None, "waiting, not failed"
    with contextlib.closing(open_serving(served.settings.paths.serving_db)) as con:
        months = {
            m
            for (m,) in con.execute(
                "select distinct strftime(month, '%Y-%m') from marts.fct_magnet_exports_monthly"
            ).fetchall()
        }
        agreements = con.execute("select count(*) from marts.fct_mineral_agreements").fetchone()[0]
    assert "2025-05" in months and agreements > 0

    # The task logs of a month that went well read as such: no ERROR line (dbt's semaphores, which
    # the task process leaves to multiprocessing's resource tracker, used to log one at its end).
    task_logs = served.home / "airflow" / "logs" / "dag_id=customs_monthly" / "run_id=manual_2025-05"
    for task in ("land", "load", "transform", "gate_marts", "publish"):
        (log_file,) = (task_logs / f"task_id={task}").glob("attempt=*.log")
        text = log_file.read_text(encoding="utf-8")
        assert text.strip() and "leaked semaphore" not in text, (log_file, text[-2000:])
        errors = [line for line in text.splitlines() if _log_level(line) in ("error", "critical")]
        assert not errors, (log_file, errors)


def _log_level(line: str) -> str | None:
    """The level of one line of an Airflow 3 task log (JSON lines), or None."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return str(record.get("level", "")).lower() if isinstance(record, dict) else None


# Tests that run DAGs on `served` (with trigger_and_wait) go above this one: it stops Airflow.
@pytest.mark.e2e
def test_a_user_logs_in_triggers_a_month_from_the_form_and_reads_its_land_log_in_a_browser(served):
    """Airflow's UI in Chromium with the network cut (issue 22): the login page, the DAG's Trigger
    form (the month in its field, the run named after it under Advanced Options), the run to
    success with its month in the run id the grid shows, and the land task's log."""
    from browser import local_only, offline_chromium
    from selenium.webdriver.common.by import By

    month, run_id = "2025-06", "manual__2025-06__from-the-form"
    land_sample_month(served.settings.paths, month)
    api = served.api()
    wait_for_dag(api, "customs_monthly")
    with offline_chromium() as browser:
        driver = browser.driver
        browser.open(f"{served.url}/")
        browser.wait_for("the login form", "return document.querySelector('input[name=username]')")
        driver.find_element(By.NAME, "username").send_keys(served.user)
        driver.find_element(By.NAME, "password").send_keys(served.password)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        browser.wait_for("the home page", "return !location.pathname.startsWith('/auth/')")

        browser.open(f"{served.url}/dags/customs_monthly")
        trigger = "button[aria-label='Trigger Dag']"
        browser.wait_for("the Trigger button", f'return document.querySelector("{trigger}")')
        driver.find_element(By.CSS_SELECTOR, trigger).click()
        browser.wait_for("the month field", "return document.querySelector('input[name=element_month]')")
        driver.find_element(By.NAME, "element_month").send_keys(month)
        driver.find_element(By.XPATH, "//button[contains(., 'Advanced Options')]").click()
        browser.wait_for("the run id field", "return document.querySelector('input[name=dagRunId]')")
        driver.find_element(By.NAME, "dagRunId").send_keys(run_id)
        browser.screenshot("airflow-trigger-form")
        driver.find_element(By.XPATH, "//div[@role='dialog']//button[normalize-space(.)='Trigger']").click()

        def finished():
            run = api.call("GET", f"/api/v2/dags/customs_monthly/dagRuns/{run_id}", expect=(200, 404))
            return run if run and run.get("state") in ("success", "failed") else None

        run = wait_for(f"the run {run_id}", finished, RUN_TIMEOUT, every=3)
        assert run["state"] == "success", task_states(api, "customs_monthly", run_id)
        assert run["conf"] == {"month": month, "backfill": False}, run["conf"]

        browser.open(f"{served.url}/dags/customs_monthly/runs/{run_id}")
        page = browser.wait_for(
            "the run's page", "const t = document.body.innerText; return t.includes('Success') && t"
        )
        assert run_id in page
        browser.screenshot("airflow-run")
        browser.open(f"{served.url}/dags/customs_monthly/runs/{run_id}/tasks/land")
        log = browser.wait_for(
            "the land task's log",
            "const t = document.body.innerText; "
            f"return t.includes('{month}: ') && t.includes('current files') && t",
            timeout=60,
        )
        assert f"landing checks of {month} recorded" in log, log[-2000:]
        browser.screenshot("airflow-land-log")
        assert local_only(browser.requests()) == []
        assert browser.console_errors() == []


def test_ctrl_c_stops_everything_and_frees_the_home(served):
    """Stopped while a task runs (a task is a process group of its own), nothing is left."""
    groups = dict(served.holder()["process_groups"])
    api = served.api()
    wait_for_dag(api, "registers")
    api.call("PATCH", "/api/v2/dags/registers", {"is_paused": False})
    run_id = api.call("POST", "/api/v2/dags/registers/dagRuns", {"logical_date": None, "conf": {}})[
        "dag_run_id"
    ]
    seen: dict[int, str] = {}

    def a_task_runs() -> bool:
        seen.update(served.descendants())
        return "running" in task_states(api, "registers", run_id).values()

    wait_for("a registers task running", a_task_runs, 180, every=0.5)
    seen.update(served.descendants())
    table = processes.process_table() or {}
    own_groups = {entry.group for pid, entry in table.items() if pid in seen} - set(groups.values())
    assert served.stop() == 0, served.text()[-3000:]
    assert "Airflow stopped." in served.text()
    assert [pgid for pgid in {*groups.values(), *own_groups} if processes.group_alive(pgid)] == []
    assert served.leftovers(seen) == []
    lock = airflow_home.local_airflow_lock(served.settings)
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: raises if anything still holds it
    assert lock.read_text() == ""
