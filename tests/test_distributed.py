"""The production shape, run: docker-compose.yml's services as processes on this machine.

Airflow's api-server, scheduler, dag-processor, triggerer and two Celery workers (``default``, and
``warehouse`` with concurrency 1), with their own PostgreSQL database, Redis db numbers and
``$CRITMIN_HOME``, on loopback. Users' ways in: the REST API with a token from the auth manager,
and ``airflow backfill create``. ``make test-distributed`` runs it (with the production extra
installed in ``.venv-production``); ``make test`` skips it, saying why.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import os
import secrets
import shutil
import signal
import socket
import sys
from pathlib import Path

import duckdb
import pytest
from airflow_cluster import SERVICES, Api, Cluster, free_port, wait_for
from conftest import SAMPLE_LANDING, SESSION_DIR

pytestmark = pytest.mark.distributed

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, os.environ.get("CRITMIN_TEST_PG_USER", "postgres")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
RUN_TIMEOUT = 900
MANUAL_MONTHS = ["2025-05", "2025-06", "2025-07"]
#: Backfill runs are dated the 25th and load the month before: 2025-09-25 -> 2025-08, 2025-10-25 -> 2025-09.
BACKFILL = ("2025-09-01", "2025-10-31", ["2025-08", "2025-09"])
BAD_MONTH = "2026-04"
USER = "critmin"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


def _servers() -> str:
    found = {
        f"PostgreSQL {PG_HOST}:{PG_PORT}": _reachable(PG_HOST, PG_PORT),
        f"Redis {REDIS_HOST}:{REDIS_PORT}": _reachable(REDIS_HOST, REDIS_PORT),
    }
    return ", ".join(f"{name} {'reachable' if ok else 'NOT reachable'}" for name, ok in found.items())


def _admin(sql: str) -> None:
    import psycopg2

    connection = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres")
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


def _empty_redis_dbs(count: int) -> list[int]:
    import redis

    empty = [n for n in range(15, 0, -1) if redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=n).dbsize() == 0]
    if len(empty) < count:
        raise RuntimeError(f"need {count} empty Redis databases, found {empty}")
    return empty[:count]


def _interrupt(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="module")
def cluster():
    if os.environ.get("CRITMIN_DISTRIBUTED") != "1":
        pytest.skip(f"the distributed run is `make test-distributed` ({_servers()})")
    if not (_reachable(PG_HOST, PG_PORT) and _reachable(REDIS_HOST, REDIS_PORT)):
        pytest.fail(f"make test-distributed needs PostgreSQL and Redis: {_servers()}")
    import redis

    work = SESSION_DIR / "distributed"
    home = work / "home"
    home.mkdir(parents=True)
    database = f"critmin_test_{secrets.token_hex(4)}"
    broker_db, results_db = _empty_redis_dbs(2)
    api_port = free_port()
    pg = f"{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"
    values = {  # docker-compose.yml's host names and secrets, for this machine
        "api_port": str(api_port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{broker_db}",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"redis://{REDIS_HOST}:{REDIS_PORT}/{results_db}",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{pg}",
        "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "CRITMIN_ADMIN_USER": USER,
        "CRITMIN_ADMIN_PASSWORD": secrets.token_urlsafe(16),
        # Alerts off, as with .env.example's empty values (tests/test_alerts.py sends one).
        "CRITMIN_ALERT_EMAIL": "",
        "CRITMIN_ALERT_FROM": "",
        "CRITMIN_ALERT_SLACK_CONN_ID": "",
    }
    _admin(f'CREATE DATABASE "{database}"')
    running = Cluster(work, Path(sys.executable).parent, values, home)
    # Stopped from outside (SIGTERM, as CI does on a timeout): clean up all the same.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield running
    finally:
        signal.signal(signal.SIGTERM, previous)
        running.stop()
        _admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        for n in (broker_db, results_db):
            redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=n).flushdb()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def api(cluster):
    return Api(f"http://127.0.0.1:{cluster.api_port}")


def _runs(api: Api, dag_id: str, run_ids=None, run_type=None):
    """Wait until the runs (default: every run of the DAG) have finished; return them."""
    query = f"/api/v2/dags/{dag_id}/dagRuns?limit=100" + (f"&run_type={run_type}" if run_type else "")

    def finished():
        runs = api.call("GET", query)["dag_runs"]
        if run_ids is not None:
            runs = [r for r in runs if r["dag_run_id"] in run_ids]
            if len(runs) < len(run_ids):
                return None
        return runs if runs and all(r["state"] in ("success", "failed") for r in runs) else None

    return wait_for(f"runs of {dag_id}", finished, RUN_TIMEOUT, every=3)


def _task_instances(api: Api, dag_id: str, run_id: str) -> list[dict]:
    return api.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]


def _served_months(home: Path) -> set[str]:
    with duckdb.connect(str(home / "serving.duckdb"), read_only=True) as con:
        rows = con.execute("select distinct strftime(month, '%Y-%m') from marts.fct_magnet_exports_monthly")
        return {month for (month,) in rows.fetchall()}


def test_every_service_starts_and_passes_its_compose_healthcheck(cluster):
    cluster.run_init()
    for service in SERVICES:
        cluster.start(service)
    for service in SERVICES:
        cluster.wait_healthy(service)


def test_registers_from_the_cli_and_three_months_through_the_rest_api(cluster, api):
    api.login(USER, cluster.values["CRITMIN_ADMIN_PASSWORD"])
    shutil.copytree(SAMPLE_LANDING, cluster.home / "landing", dirs_exist_ok=True)
    for dag_id in ("registers", "customs_monthly"):
        wait_for(f"DAG {dag_id} parsed", lambda d=dag_id: api.call("GET", f"/api/v2/dags/{d}"), 300)
        assert api.call("GET", f"/api/v2/dags/{dag_id}")["is_paused"], "new DAGs start paused"

    api.call("PATCH", "/api/v2/dags/registers", {"is_paused": False})
    cluster.run("scheduler", ["airflow", "dags", "trigger", "registers"])  # the CLI way, no logical date
    # Unpausing also creates the latest scheduled run: wait for every run, so the months never
    # wait for the warehouse lease behind a registers run.
    runs = _runs(api, "registers")
    assert all(r["state"] == "success" for r in runs), runs

    # Runs of a paused DAG wait in the queue: unpause it. That also creates the run of the latest
    # 25th at once, whose month has not landed: it waits for its files (wait_for_files, reschedule
    # mode) while the manual runs of other months go ahead.
    api.call("PATCH", "/api/v2/dags/customs_monthly", {"is_paused": False})
    manual = []
    for month in MANUAL_MONTHS:
        run = api.call(
            "POST",
            "/api/v2/dags/customs_monthly/dagRuns",
            {"logical_date": None, "conf": {"month": month}, "dag_run_id": f"manual_{month}"},
        )
        manual.append(run["dag_run_id"])
    runs = _runs(api, "customs_monthly", manual)
    assert all(r["state"] == "success" for r in runs), [(r["dag_run_id"], r["state"]) for r in runs]
    assert set(MANUAL_MONTHS) <= _served_months(cluster.home)
    briefs = cluster.home / "briefs"
    assert all((briefs / f"{month}.{kind}").exists() for month in MANUAL_MONTHS for kind in ("html", "png"))

    def waiting():  # the scheduler's next loop makes the run; its sensor has poked once
        runs = api.call("GET", "/api/v2/dags/customs_monthly/dagRuns?run_type=scheduled")["dag_runs"]
        if len(runs) != 1:
            return None
        tasks = {t["task_id"]: t for t in _task_instances(api, "customs_monthly", runs[0]["dag_run_id"])}
        return (runs[0], tasks) if tasks["wait_for_files"]["state"] == "up_for_reschedule" else None

    scheduled, tasks = wait_for("the scheduled run waiting for its files", waiting, RUN_TIMEOUT, every=3)
    assert scheduled["state"] == "running", "waiting, not failed"
    assert tasks["land"]["state"] is None, "nothing landed before the files are there"


def test_a_backfill_loads_the_month_before_each_logical_date(cluster, api):
    start, end, months = BACKFILL
    cluster.run(
        "scheduler",
        ["airflow", "backfill", "create", "--dag-id", "customs_monthly", "--from-date", start,
         "--to-date", end, "--max-active-runs", "1"],
    )  # fmt: skip
    assert len(api.call("GET", "/api/v2/backfills?dag_id=customs_monthly")["backfills"]) == 1
    backfill_runs = "/api/v2/dags/customs_monthly/dagRuns?run_type=backfill"
    wait_for("two backfill runs", lambda: len(api.call("GET", backfill_runs)["dag_runs"]) == 2, 120)
    runs = _runs(api, "customs_monthly", run_type="backfill")
    assert [r["state"] for r in runs] == ["success", "success"], runs
    assert set(months) <= _served_months(cluster.home)


def test_a_bad_month_fails_at_land_without_retry_and_leaves_serving_untouched(cluster, api):
    folder = cluster.home / "landing" / "gacc" / "export" / BAD_MONTH
    folder.mkdir(parents=True)
    (folder / "broken.csv").write_bytes(b'"Commodity code","Quantity","Surprise",\n"85051110","1","x",\n')
    serving = cluster.home / "serving.duckdb"
    before = serving.stat().st_mtime_ns
    run_id = f"manual_{BAD_MONTH}"
    api.call(
        "POST",
        "/api/v2/dags/customs_monthly/dagRuns",
        {"logical_date": None, "conf": {"month": BAD_MONTH}, "dag_run_id": run_id},
    )
    (run,) = _runs(api, "customs_monthly", [run_id])
    tasks = {t["task_id"]: t for t in _task_instances(api, "customs_monthly", run_id)}
    assert run["state"] == "failed"
    assert (tasks["land"]["state"], tasks["land"]["try_number"]) == ("failed", 1), "refused, not retried"
    assert tasks["wait_for_files"]["state"] == "success", "the files were there"
    after_land = {name: t for name, t in tasks.items() if name not in ("wait_for_files", "land")}
    assert all(t["state"] == "upstream_failed" for t in after_land.values())
    log = api.call("GET", f"/api/v2/dags/customs_monthly/dagRuns/{run_id}/taskInstances/land/logs/1")
    log = json.dumps(log)
    assert "broken.csv" in log and "Surprise" in log, "the task log names the file and the header"
    assert not (folder / "broken.csv").exists() and list((cluster.home / "quarantine").rglob("*broken.csv"))
    assert serving.stat().st_mtime_ns == before


KILLED, NEXT = "2025-10", "2025-11"


def _task(api: Api, run_id: str, task_id: str) -> dict:
    return api.call("GET", f"/api/v2/dags/customs_monthly/dagRuns/{run_id}/taskInstances/{task_id}")


def _trigger(api: Api, month: str) -> str:
    run = {"logical_date": None, "conf": {"month": month}, "dag_run_id": f"manual_{month}"}
    return api.call("POST", "/api/v2/dags/customs_monthly/dagRuns", run)["dag_run_id"]


def test_a_warehouse_worker_killed_during_transform_never_blocks_the_warehouse(cluster, api):
    """The warehouse worker dies with its task during every try of a month's transform (its
    process group and everything below it, as a lost machine). Once the run's retries have run
    out, its teardown puts back what it loaded: the next month publishes within a run's time,
    and serving never holds the killed month or its gate results."""
    killed_run = _trigger(api, KILLED)
    next_run = None
    tries = 1 + _task(api, killed_run, "transform")["max_tries"]
    for attempt in range(1, tries + 1):
        wait_for(
            f"transform try {attempt} running",
            lambda a=attempt: (
                (t := _task(api, killed_run, "transform"))["state"] == "running" and t["try_number"] == a
            ),
            RUN_TIMEOUT,
            every=1,
        )
        killed = cluster.kill("warehouse-worker")
        assert len(killed) >= 2, "the worker and its task process"
        cluster.start("warehouse-worker")
        cluster.wait_healthy("warehouse-worker")
        if next_run is None:  # meanwhile another month needs the warehouse
            next_run = _trigger(api, NEXT)

    (ended,) = _runs(api, "customs_monthly", [killed_run])
    assert ended["state"] == "failed"
    assert _task(api, killed_run, "transform")["state"] == "failed"
    assert _task(api, killed_run, "release_warehouse")["state"] == "success", "the teardown ran"
    (published,) = _runs(api, "customs_monthly", [next_run])
    assert published["state"] == "success"
    when = dt.datetime.fromisoformat
    waited = when(published["end_date"]) - when(ended["end_date"])
    assert waited < dt.timedelta(minutes=10), f"the next month published {waited} after the killed run ended"

    assert KILLED not in _served_months(cluster.home) and NEXT in _served_months(cluster.home)
    with duckdb.connect(str(cluster.home / "serving.duckdb"), read_only=True) as con:
        results = con.execute(
            "select distinct strftime(month, '%Y-%m') from marts.data_quality_results "
            "where dataset not like 'register%'"
        ).fetchall()
    assert {month for (month,) in results} == _served_months(cluster.home), "results of served months only"
    status = cluster.run("warehouse-worker", ["critmin", "warehouse", "status"])
    assert "warehouse lease: free" in status and "loads not yet published: none" in status, status


def test_warehouse_tasks_ran_on_the_warehouse_worker_one_at_a_time(cluster, api):
    ran = []
    for dag_id in ("registers", "customs_monthly"):
        for run in api.call("GET", f"/api/v2/dags/{dag_id}/dagRuns?limit=100")["dag_runs"]:
            for task in _task_instances(api, dag_id, run["dag_run_id"]):
                # upstream_failed tasks never ran: no hostname, try 0
                if task["try_number"] >= 1 and task["state"] in ("success", "failed", "up_for_retry"):
                    ran.append(task)
    warehouse = sorted((t for t in ran if t["queue"] == "warehouse"), key=lambda t: t["start_date"])
    assert len(warehouse) >= 3 * len(MANUAL_MONTHS)
    assert {t["hostname"] for t in warehouse} == {"warehouse-worker"}
    assert {t["hostname"] for t in ran if t["queue"] == "default"} == {"worker"}
    when = dt.datetime.fromisoformat
    overlapping = [
        (a["dag_run_id"], a["task_id"], b["dag_run_id"], b["task_id"])
        for a, b in itertools.pairwise(warehouse)
        if when(b["start_date"]) < when(a["end_date"])
    ]
    assert not overlapping


def test_stopping_leaves_no_process_behind(cluster):
    assert set(cluster.processes) == set(SERVICES)
    assert cluster.stop() == []
    assert cluster.leftovers() == []
