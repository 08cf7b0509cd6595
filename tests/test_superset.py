"""docs/bi.md's Superset steps, run in Superset itself (issue 22): Apache Superset 6.1 installed as
the guide says, in its own environment (`.venv-bi/superset`, locked in tests/bi/superset/), started
on 127.0.0.1 with a throw-away metadata database, then the guide's connection made through the REST
API the UI calls: the SQLAlchemy URI, the engine parameters copied from the guide itself, "Test
connection", the schema list (`serving.marts`), a SQL Lab query with schema-qualified names, and the
guide's promise that a user cannot read or write files through it.

`make bi-superset` installs Superset and runs this; `make test` skips it, saying so (Superset's start
costs minutes: its metadata migrations and `superset init`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import pytest
from airflow_cluster import free_port, wait_for
from bi_clients import documented_engine_parameters
from conftest import REPO
from test_analyses import home as home  # the fixture: three months published

pytestmark = pytest.mark.e2e

SUPERSET = REPO / ".venv-bi" / "superset" / "bin" / "superset"
USER, PASSWORD = "admin", "superset-test-1234"


@pytest.fixture(scope="module")
def superset(tmp_path_factory):
    """Superset on a free port with its own SQLite metadata; stopped (its process group) at the end."""
    if os.environ.get("CRITMIN_SUPERSET") != "1":
        pytest.skip("Superset's check of docs/bi.md is `make bi-superset` (it installs Superset)")
    if not SUPERSET.exists():
        pytest.fail(f"{SUPERSET} is missing: `make bi-superset` installs it")
    work = tmp_path_factory.mktemp("superset")
    config = work / "superset_config.py"
    config.write_text(
        "SECRET_KEY = 'critmin-test-only-not-a-secret-0123456789'\n"
        f"SQLALCHEMY_DATABASE_URI = 'sqlite:///{work / 'superset.db'}'\n"
        "WTF_CSRF_ENABLED = False\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CRITMIN_"))}
    env.update({"SUPERSET_CONFIG_PATH": str(config), "FLASK_APP": "superset", "SUPERSET_HOME": str(work)})
    for command in (
        ["db", "upgrade"],
        ["fab", "create-admin", "--username", USER, "--firstname", "critmin", "--lastname", "test",
         "--email", "admin@example.org", "--password", PASSWORD],
        ["init"],
    ):  # fmt: skip
        done = subprocess.run(
            [str(SUPERSET), *command], env=env, cwd=work, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, (command, done.stdout[-3000:], done.stderr[-3000:])
    port = free_port()
    log = (work / "superset.log").open("wb")
    server = subprocess.Popen(
        [str(SUPERSET), "run", "-h", "127.0.0.1", "-p", str(port)],
        env=env,
        cwd=work,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def healthy():
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{base}/health", timeout=5) as answer:
                return answer.status == 200
            return False

        wait_for("Superset's /health", healthy, 300, every=2, processes=[("superset", server)])
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
        log.close()


def _call(base: str, method: str, path: str, body=None, token: str | None = None) -> tuple[int, object]:
    request = urllib.request.Request(
        base + path, data=None if body is None else json.dumps(body).encode(), method=method
    )
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        raw = error.read()
        with contextlib.suppress(ValueError):
            return error.code, json.loads(raw)
        return error.code, raw.decode(errors="replace")


def test_the_guides_superset_connection_queries_the_marts_and_cannot_touch_files(superset, home):
    serving = Path(home.paths.serving_db)
    status, login = _call(
        superset,
        "POST",
        "/api/v1/security/login",
        {"username": USER, "password": PASSWORD, "provider": "db", "refresh": True},
    )
    assert status == 200, login
    token = login["access_token"]  # type: ignore[index]
    # Step 2: the SQLAlchemy URI, four slashes for an absolute path; step 3: the engine parameters,
    # read from the guide's own block.
    connection = {
        "sqlalchemy_uri": f"duckdb:///{serving}",
        "extra": json.dumps({"engine_params": documented_engine_parameters()}),
    }
    status, tested = _call(
        superset,
        "POST",
        "/api/v1/database/test_connection/",
        {"database_name": "critmin", **connection},
        token,
    )
    assert status == 200, tested  # step 5: Test connection
    status, made = _call(
        superset,
        "POST",
        "/api/v1/database/",
        {"database_name": "critmin", "expose_in_sqllab": True, "allow_dml": False, **connection},
        token,
    )
    assert status == 201, made
    database = made["id"]  # type: ignore[index]

    # "pick serving.marts in SQL Lab's schema list"
    status, schemas = _call(superset, "GET", f"/api/v1/database/{database}/schemas/", None, token)
    assert status == 200 and "serving.marts" in schemas["result"], schemas  # type: ignore[index]

    def sql_lab(sql: str) -> tuple[int, object]:
        return _call(
            superset,
            "POST",
            "/api/v1/sqllab/execute/",
            {"database_id": database, "sql": sql, "runAsync": False},
            token,
        )

    status, result = sql_lab(
        "select count(*) as n, count(distinct month) as months from marts.fct_magnet_exports_monthly"
    )
    assert status == 200, result
    with contextlib.closing(duckdb.connect(str(serving), read_only=True)) as con:
        expected = con.execute(
            "select count(*), count(distinct month) from marts.fct_magnet_exports_monthly"
        ).fetchone()
    (row,) = result["data"]  # type: ignore[index]
    assert (row["n"], row["months"]) == expected and expected[0] > 0

    # What a user must not be able to do through the connection: read a file, write one.
    leak = serving.parent / "written-through-superset.csv"
    for sql in ("select * from read_text('/etc/hostname')", f"copy (select 1) to '{leak}'"):
        status, refused = sql_lab(sql)
        assert status >= 400 and "disabled by configuration" in json.dumps(refused), (sql, status, refused)
    assert not leak.exists()
