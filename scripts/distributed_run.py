#!/usr/bin/env python3
"""critmin's production shape, run locally as separate processes (prototype of `make test-distributed`,
not yet part of `make test` or CI). Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379.

    python3 scripts/distributed_run.py        # CRITMIN_REPO defaults to this checkout

What it does, bounded in time, and undone at the end whatever happens:
 1. `uv sync --frozen --extra production` in the repo, then re-runs itself with the repo's .venv python
    (duckdb, psycopg2 and redis come from there); checks celery is 5.6.x.
 2. Creates its own PostgreSQL database and picks an empty Redis db (not 0); a fresh work dir holding
    CRITMIN_HOME, AIRFLOW_HOME and one log file per process.
 3. `airflow db migrate`, the critmin_warehouse pool, then api-server, scheduler, dag-processor,
    triggerer, a Celery worker for `default` and one for `warehouse` (concurrency 1), each in its
    own process group, all on 127.0.0.1 (log servers skipped: they bind every interface).
 4. Copies the sample landing folder into CRITMIN_HOME.
 5. Through the REST API with a JWT from /auth/token: unpause + trigger `registers`, then
    `customs_monthly` for three months; waits; reads serving.duckdb read-only.
 6. Task instances: hostname/queue/start/end; every `warehouse` task on the warehouse worker, none
    overlapping.
 7. `airflow backfill create` over two months, then a bad month (unknown header) that must fail at
    `land` with one try.
 8. Stops every process group, drops the database, flushes the Redis db, checks nothing is left.
Exit status 0 when every check passed.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import itertools
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(os.environ.get("CRITMIN_REPO") or Path(__file__).resolve().parents[1]).resolve()
WORK = Path(os.environ.get("DISTPROTO_DIR") or Path(tempfile.gettempdir()) / "critmin-distributed")
VENV_PY = REPO / ".venv" / "bin" / "python"
BIN = REPO / ".venv" / "bin"
PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_USER = os.environ.get("DISTPROTO_PG_USER", "postgres")
REDIS_DB = os.environ.get("DISTPROTO_REDIS_DB")  # default: the first empty of 7..15, 1..6
RUN_TIMEOUT = float(os.environ.get("DISTPROTO_RUN_TIMEOUT", "600"))  # per wait for a batch of runs
USER, PASSWORD = "critmin", secrets.token_urlsafe(12)
MANUAL_MONTHS = ["2025-05", "2025-06", "2025-07"]
# Backfill: runs are dated the 25th and load the month before: 2025-09-25 -> 2025-08, 2025-10-25 -> 2025-09.
BACKFILL = ("2025-09-01", "2025-10-31", ["2025-08", "2025-09"])
BAD_MONTH = "2026-04"
WORKERS = {"default": "worker-default", "warehouse": "worker-warehouse"}

T0 = time.monotonic()
procs: dict[str, subprocess.Popen] = {}
checks: list[tuple[str, bool, str]] = []


def say(msg: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def check(name: str, ok: bool, detail: str = "") -> bool:
    checks.append((name, ok, detail))
    say(f"{'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")
    return ok


# ---------------------------------------------------------------------------------------------- 1
def ensure_venv() -> None:
    if Path(sys.prefix).resolve() == (REPO / ".venv").resolve():
        return
    uv = os.environ.get("UV") or shutil.which("uv") or str(REPO / ".tools" / "bin" / "uv")
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    print(f"$ {uv} sync --frozen --extra production   (in {REPO})", flush=True)
    subprocess.run([uv, "sync", "--frozen", "--extra", "production"], cwd=REPO, env=env, check=True)
    os.execv(str(VENV_PY), [str(VENV_PY), str(Path(__file__).resolve()), *sys.argv[1:]])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------- 2
def pg_admin(sql: str) -> None:
    """One statement on the maintenance database, outside a transaction (CREATE/DROP DATABASE);
    psycopg2's `with conn:` would open one even in autocommit mode."""
    import psycopg2

    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def pick_redis_db() -> int:
    import redis

    candidates = [int(REDIS_DB)] if REDIS_DB else [*range(7, 16), *range(1, 7)]
    for n in candidates:
        if redis.Redis(host="127.0.0.1", port=6379, db=n).dbsize() == 0:
            return n
    raise SystemExit(f"no empty Redis db among {candidates}")


# ---------------------------------------------------------------------------------------------- 3
def start(name: str, args: list[str], env: dict[str, str]) -> None:
    log = open(WORK / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - the child process writes to it
    say(f"start {name}: airflow {' '.join(args)}")
    procs[name] = subprocess.Popen(
        [str(BIN / "airflow"), *args],
        env=env,
        cwd=WORK,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # own session => own process group
    )


def airflow_cli(args: list[str], env: dict[str, str], timeout: float = 300, name: str = "cli") -> str:
    with open(WORK / "logs" / f"{name}.log", "ab") as log:
        log.write(f"\n$ airflow {' '.join(args)}\n".encode())
        log.flush()
        out = subprocess.run(
            [str(BIN / "airflow"), *args],
            env=env,
            cwd=WORK,
            capture_output=True,
            timeout=timeout,
            start_new_session=True,
        )
        log.write(out.stdout + out.stderr)
    if out.returncode:
        raise RuntimeError(f"airflow {' '.join(args)} exited {out.returncode}; see logs/{name}.log")
    return out.stdout.decode()


def wait_for(what: str, probe, timeout: float, every: float = 2.0):
    deadline = time.monotonic() + timeout
    while True:
        for name, p in procs.items():
            if p.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {p.returncode} while waiting for {what}; see {WORK}/logs/{name}.log"
                )
        try:
            result = probe()
        except Exception:  # noqa: BLE001 (a probe that raises is "not yet")
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready after {timeout:.0f}s")
        time.sleep(every)


class Api:
    def __init__(self, base: str) -> None:
        self.base, self.token = base, None

    def call(self, method: str, path: str, body=None, expect=(200,)):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        if status not in expect:
            raise RuntimeError(f"{method} {path} -> {status}: {raw[:500]!r}")
        text = raw.decode()
        try:
            return json.loads(text) if text else None
        except json.JSONDecodeError:
            return text

    def login(self) -> None:
        # SimpleAuthManager: POST /auth/token {"username", "password"} -> 201 {"access_token"}
        self.token = self.call(
            "POST", "/auth/token", {"username": USER, "password": PASSWORD}, expect=(200, 201)
        )["access_token"]


def run_state(api: Api, dag_id: str, run_id: str) -> str:
    return api.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"]


def wait_runs(api: Api, dag_id: str, run_ids: list[str] | None = None, timeout: float = RUN_TIMEOUT):
    """Wait until the given runs (default: every run of the DAG) are success or failed."""

    def done():
        runs = api.call("GET", f"/api/v2/dags/{dag_id}/dagRuns?limit=100")["dag_runs"]
        if run_ids is not None:
            runs = [r for r in runs if r["dag_run_id"] in run_ids]
            if len(runs) < len(run_ids):
                return None
        if runs and all(r["state"] in ("success", "failed") for r in runs):
            return runs
        return None

    return wait_for(f"runs of {dag_id}", done, timeout, every=3)


def task_instances(api: Api, dag_id: str, run_id: str) -> list[dict]:
    return api.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]


def print_tis(dag_id: str, run: dict, tis: list[dict]) -> None:
    conf = run.get("conf") or {}
    print(
        f"  {dag_id} {run['dag_run_id']} [{run['run_type']}, {run['state']}]"
        f" logical={run.get('logical_date')} conf={conf}"
    )
    for ti in sorted(tis, key=lambda t: t["start_date"] or "~"):
        print(
            f"    {ti['task_id']:<11} {ti['state'] or '-':<16} try={ti['try_number']} "
            f"queue={ti['queue']:<9} host={ti['hostname'] or '-':<17} "
            f"{(ti['start_date'] or '-')[11:23]} -> {(ti['end_date'] or '-')[11:23]}"
        )


def query_serving(home: Path) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(home / "serving.duckdb"), read_only=True) as db:
        tables = db.execute(
            "select table_schema || '.' || table_name from information_schema.tables order by 1"
        ).fetchall()
        print("  serving.duckdb tables:", ", ".join(t for (t,) in tables))
        return db.execute(
            "select strftime(month, '%Y-%m'), count(*), round(sum(quantity_t), 1) "
            "from marts.fct_magnet_exports_monthly group by 1 order by 1"
        ).fetchall()


# ---------------------------------------------------------------------------------------------- 8
def stop_all(timeout: float = 40) -> None:
    for p in procs.values():
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)  # celery: warm shutdown; airflow: graceful stop
    deadline = time.monotonic() + timeout
    for name, p in procs.items():
        while time.monotonic() < deadline and _group_alive(p.pid):
            p.poll()
            time.sleep(0.5)
        if _group_alive(p.pid):
            say(f"{name}: process group {p.pid} still alive after SIGTERM, SIGKILL")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=10)
    time.sleep(1)


def _leftovers(marker: str) -> list[str]:
    """Processes whose environment holds our AIRFLOW_HOME (catches any that left their group)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if marker.encode() in (proc / "environ").read_bytes():
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{proc.name}: {cmd[:120]}")
        except OSError:
            continue
    return found


def _group_alive(pgid: int) -> bool:
    out = subprocess.run(["ps", "-e", "-o", "pgid=,stat="], capture_output=True, text=True).stdout
    return any(int(g) == pgid and not s.startswith("Z") for g, s in (ln.split() for ln in out.splitlines()))


def main() -> int:
    ensure_venv()
    import celery
    import redis

    check("celery 5.6.x installed", celery.__version__.startswith("5.6."), celery.__version__)
    if WORK.exists():
        shutil.rmtree(WORK)
    home, af_home, pylib = WORK / "home", WORK / "airflow", WORK / "pylib"
    for d in (home, af_home, pylib, WORK / "logs"):
        d.mkdir(parents=True)

    db_name = f"critmin_proto_{secrets.token_hex(4)}"
    redis_db = pick_redis_db()
    pg_admin(f'CREATE DATABASE "{db_name}"')
    say(f"database {db_name}, redis db {redis_db}, work dir {WORK}")
    api_port, sched_health_port = free_port(), free_port()

    # Each worker reports its own name as the task instance's hostname, as two hosts would.
    (pylib / "distproto_hostname.py").write_text(
        "import os, socket\n\n\ndef hostname():\n"
        "    return os.environ.get('DISTPROTO_WORKER_NAME') or socket.getfqdn()\n"
    )
    pw_file = af_home / "simple_auth_manager_passwords.json"
    pw_file.write_text(json.dumps({USER: PASSWORD}))

    pg = f"{PG_USER}@{PG_HOST}:{PG_PORT}/{db_name}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CRITMIN_"))},
        "AIRFLOW_HOME": str(af_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(pw_file),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{pg}",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql://{pg}",
        # HS512 wants >= 64 bytes (InsecureKeyLengthWarning otherwise).
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(sched_health_port),
        # Never used (every process runs with --skip-serve-logs) but kept off the defaults 8793/8794.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
        "CRITMIN_HOME": str(home),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "NO_COLOR": "1",
    }
    (WORK / "env.sh").write_text(
        "".join(
            f"export {k}={json.dumps(v)}\n" for k, v in env.items() if k.startswith(("AIRFLOW", "CRITMIN"))
        )
    )
    api = Api(f"http://127.0.0.1:{api_port}")
    try:
        return scenario(env, api, home, redis_db)
    except Exception as error:  # noqa: BLE001
        check("scenario ran to the end", False, f"{type(error).__name__}: {error}")
        return 1
    except KeyboardInterrupt as interrupt:  # Ctrl-C, or SIGTERM (handler below): clean up all the same
        check("scenario ran to the end", False, f"interrupted ({interrupt})")
        return 130
    finally:
        say("stopping every process group")
        stop_all()
        left = [f"{n} (pgid {p.pid})" for n, p in procs.items() if _group_alive(p.pid)]
        check("no process left (ps, by process group)", not left, ", ".join(left) or "none")
        stray = _leftovers(f"AIRFLOW_HOME={WORK / 'airflow'}")
        check("no process left (/proc/*/environ naming our AIRFLOW_HOME)", not stray, "; ".join(stray))
        pg_admin(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        redis.Redis(host="127.0.0.1", port=6379, db=redis_db).flushdb()
        say(f"dropped {db_name}, flushed redis db {redis_db}")
        print("\n==== checks ====")
        for name, ok, detail in checks:
            print(f"{'PASS' if ok else 'FAIL'}  {name}" + (f"  [{detail}]" if detail and not ok else ""))
        passed = sum(ok for _, ok, _ in checks)
        print(f"{passed} passed, {len(checks) - passed} failed")
        print(f"wall time {time.monotonic() - T0:.0f}s; logs in {WORK}/logs, env in {WORK}/env.sh")


def scenario(env: dict[str, str], api: Api, home: Path, redis_db: int) -> int:
    # ---- 3. migrate, pool, processes
    say("airflow db migrate")
    airflow_cli(["db", "migrate"], env, timeout=400, name="init")
    airflow_cli(
        ["pools", "set", "critmin_warehouse", "1", "Tasks that write warehouse.duckdb (one writer)"],
        env,
        name="init",
    )
    api_port = env["AIRFLOW__API__PORT"]
    start("api-server", ["api-server", "--host", "127.0.0.1", "--port", api_port], env)
    start("scheduler", ["scheduler", "--skip-serve-logs"], env)
    start("dag-processor", ["dag-processor"], env)
    start("triggerer", ["triggerer", "--skip-serve-logs"], env)
    for queue, name in WORKERS.items():
        wenv = {
            **env,
            "DISTPROTO_WORKER_NAME": name,
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "distproto_hostname.hostname",
            "PYTHONPATH": str(WORK / "pylib"),
        }
        start(
            name,
            [
                "celery",
                "worker",
                "--queues",
                queue,
                "--concurrency",
                "1" if queue == "warehouse" else "2",
                "--celery-hostname",
                f"{name}@%h",
                "--skip-serve-logs",
            ],
            wenv,
        )

    # ---- health, as the official docker-compose checks it
    wait_for("api-server /api/v2/version", lambda: api.call("GET", "/api/v2/version"), 180)
    say(f"api-server up on :{api_port}")
    sched = f"http://127.0.0.1:{env['AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT']}/health"
    wait_for("scheduler health server", lambda: urllib.request.urlopen(sched, timeout=5).status == 200, 180)

    def healthy():
        h = api.call("GET", "/api/v2/monitor/health")
        parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
        return h if all((h.get(p) or {}).get("status") == "healthy" for p in parts) else None

    wait_for("monitor/health: scheduler, triggerer, dag_processor healthy", healthy, 180)
    for name in WORKERS.values():
        ping = [
            str(BIN / "celery"),
            "--app",
            "airflow.providers.celery.executors.celery_executor.app",
            "inspect",
            "ping",
            "-d",
            f"{name}@{socket.gethostname()}",
            "--timeout",
            "5",
        ]
        wait_for(
            f"celery ping {name}",
            lambda ping=ping: subprocess.run(ping, env=env, capture_output=True, timeout=60).returncode == 0,
            180,
            every=3,
        )
    check("every component healthy (api, scheduler, triggerer, dag-processor, 2 celery workers)", True)

    # ---- 4. sample downloads
    shutil.copytree(REPO / "data" / "sample" / "landing", home / "landing")

    # ---- 5. through the REST API
    api.login()
    say("JWT token from POST /auth/token")
    for dag_id in ("registers", "customs_monthly"):
        wait_for(
            f"DAG {dag_id} parsed", lambda d=dag_id: api.call("GET", f"/api/v2/dags/{d}", expect=(200,)), 180
        )
    api.call("PATCH", "/api/v2/dags/registers", {"is_paused": False})
    reg = api.call("POST", "/api/v2/dags/registers/dagRuns", {"logical_date": None}, expect=(200,))
    say(f"triggered registers {reg['dag_run_id']}")
    # Unpausing also creates the latest scheduled run (@daily, catchup off): wait for all of them,
    # so registers and customs_monthly never contend for the warehouse lease (a WarehouseBusy task
    # retries only after retry_delay, 5 minutes).
    runs = wait_runs(api, "registers")
    check(
        "registers: every run succeeded",
        all(r["state"] == "success" for r in runs),
        ", ".join(f"{r['dag_run_id']}={r['state']}" for r in runs),
    )

    api.call("PATCH", "/api/v2/dags/customs_monthly", {"is_paused": False})
    manual = []
    for month in MANUAL_MONTHS:
        r = api.call(
            "POST",
            "/api/v2/dags/customs_monthly/dagRuns",
            {"logical_date": None, "conf": {"month": month}, "dag_run_id": f"manual_{month}"},
        )
        manual.append(r["dag_run_id"])
    say(f"triggered customs_monthly {manual}")
    runs = wait_runs(api, "customs_monthly", manual)
    check(
        "customs_monthly: the three triggered months succeeded",
        all(r["state"] == "success" for r in runs),
        ", ".join(f"{r['dag_run_id']}={r['state']}" for r in runs),
    )
    others = wait_runs(api, "customs_monthly")  # the scheduled run that unpausing created, if any
    for r in others:
        if r["dag_run_id"] not in manual:
            say(f"note: {r['run_type']} run {r['dag_run_id']} (logical {r['logical_date']}) -> {r['state']}")

    served = query_serving(home)
    print("  month    rows  quantity_t   (marts.fct_magnet_exports_monthly)")
    for m, n, q in served:
        print(f"  {m}  {n:5d}  {q}")
    check("serving.duckdb holds the three months", set(MANUAL_MONTHS) <= {m for m, _, _ in served})

    # ---- 7. backfill over two months (CLI, writes the backfill rows in the metadata DB)
    frm, to, bf_months = BACKFILL
    out = airflow_cli(
        [
            "backfill",
            "create",
            "--dag-id",
            "customs_monthly",
            "--from-date",
            frm,
            "--to-date",
            to,
            "--max-active-runs",
            "1",
        ],
        env,
        name="backfill",
    )
    say("airflow backfill create: " + " ".join(out.split())[:200])
    bfs = api.call("GET", "/api/v2/backfills?dag_id=customs_monthly")["backfills"]
    check("backfill listed by GET /api/v2/backfills", len(bfs) == 1, json.dumps(bfs)[:300])

    def bf_runs():
        rs = api.call("GET", "/api/v2/dags/customs_monthly/dagRuns?run_type=backfill")["dag_runs"]
        return rs if len(rs) == 2 and all(r["state"] in ("success", "failed") for r in rs) else None

    bruns = wait_for("backfill runs", bf_runs, RUN_TIMEOUT, every=3)
    check(
        "backfill: both runs succeeded",
        all(r["state"] == "success" for r in bruns),
        ", ".join(f"{r['logical_date']}={r['state']}" for r in bruns),
    )
    served = query_serving(home)
    check(
        f"backfill loaded {bf_months} (the month before each logical date)",
        set(bf_months) <= {m for m, _, _ in served},
        str([m for m, _, _ in served]),
    )

    # ---- 7b. a bad month: unknown header -> fails at land, no retry
    bad = home / "landing" / "gacc" / "export" / BAD_MONTH
    bad.mkdir(parents=True)
    (bad / "broken.csv").write_bytes(b'"Commodity code","Quantity","Surprise",\n"85051110","1","x",\n')
    serving_before = (home / "serving.duckdb").stat().st_mtime_ns
    r = api.call(
        "POST",
        "/api/v2/dags/customs_monthly/dagRuns",
        {"logical_date": None, "conf": {"month": BAD_MONTH}, "dag_run_id": f"manual_{BAD_MONTH}"},
    )
    (br,) = wait_runs(api, "customs_monthly", [r["dag_run_id"]])
    tis = {t["task_id"]: t for t in task_instances(api, "customs_monthly", br["dag_run_id"])}
    land = tis["land"]
    log = api.call(
        "GET", f"/api/v2/dags/customs_monthly/dagRuns/{br['dag_run_id']}/taskInstances/land/logs/1"
    )
    log_text = json.dumps(log)
    check(
        "bad month: run failed, land failed on try 1 (no retry), downstream upstream_failed",
        br["state"] == "failed"
        and land["state"] == "failed"
        and land["try_number"] == 1
        and all(t["state"] == "upstream_failed" for k, t in tis.items() if k != "land"),
        f"run={br['state']} land={land['state']} try={land['try_number']} "
        + ", ".join(f"{k}={t['state']}" for k, t in tis.items() if k != "land"),
    )
    check(
        "bad month: land's log (via the API) names broken.csv and the unknown header",
        "broken.csv" in log_text and "Surprise" in log_text,
    )
    check(
        "bad month: file quarantined, serving.duckdb untouched",
        not (bad / "broken.csv").exists()
        and any((home / "quarantine").rglob("*broken.csv"))
        and (home / "serving.duckdb").stat().st_mtime_ns == serving_before,
    )

    # ---- 6. where and when every task ran
    print("\n  task instances (GET /api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances):")
    all_tis = []
    for dag_id in ("registers", "customs_monthly"):
        for run in api.call("GET", f"/api/v2/dags/{dag_id}/dagRuns?limit=100&order_by=run_after")["dag_runs"]:
            tis = task_instances(api, dag_id, run["dag_run_id"])
            print_tis(dag_id, run, tis)
            all_tis += [{**t, "dag_id": dag_id} for t in tis]
    # Tasks that never ran (upstream_failed) still get a start_date, but no hostname and try 0.
    ran = [t for t in all_tis if t["try_number"] >= 1 and t["state"] in ("success", "failed", "up_for_retry")]
    wh = sorted((t for t in ran if t["queue"] == "warehouse"), key=lambda t: t["start_date"])
    check(
        "every warehouse-queue task ran on the warehouse worker",
        bool(wh) and all(t["hostname"] == WORKERS["warehouse"] for t in wh),
        f"{len(wh)} tasks, hosts {sorted({t['hostname'] for t in wh})}",
    )
    check(
        "every default-queue task ran on the default worker",
        all(t["hostname"] == WORKERS["default"] for t in ran if t["queue"] == "default"),
        f"hosts {sorted({t['hostname'] for t in ran if t['queue'] == 'default'})}",
    )
    ts = dt.datetime.fromisoformat
    overlaps = [
        (a["task_id"], b["task_id"])
        for a, b in itertools.pairwise(wh)
        if ts(b["start_date"]) < ts(a["end_date"])
    ]
    check("no two warehouse tasks overlapped in time", not overlaps, str(overlaps))
    print(
        "  warehouse tasks in start order, gap to the previous one's end (s):",
        " ".join(
            f"{(ts(b['start_date']) - ts(a['end_date'])).total_seconds():.1f}"
            for a, b in itertools.pairwise(wh)
        ),
    )
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":

    def _interrupted(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _interrupted)
    rc = main()
    sys.exit(rc or (0 if all(ok for _, ok, _ in checks) else 1))
