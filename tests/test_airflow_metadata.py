"""Airflow's SQLite metadata database under contention: four components (``make airflow``) or a
run and a user's click write at once; a writer that finds it locked waits instead of failing
(issue 22: an unpause from the UI once failed with HTTP 500 on "database is locked")."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time

from critmin import airflow_home
from critmin.settings import Settings

INIT = "from critmin.airflow_home import init_metadata; init_metadata()"
#: A write through Airflow's own engine and session, once Airflow is imported.
WRITE = """
import sys
from airflow.models.pool import Pool
print("writing", flush=True)
Pool.create_or_update_pool("contention_probe", slots=2, description="probe", include_deferred=False)
print("written", flush=True)
"""
#: Longer than sqlite3's default wait for a lock (5 s).
HELD_SECONDS = 8


def _environment(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CRITMIN_"))}
    env.update(airflow_home.airflow_environment(settings, env))
    env.update(settings.environment())
    return env


def test_the_metadata_database_is_in_wal_mode_and_a_writer_waits_for_the_lock(tmp_path):
    settings = Settings.for_home(tmp_path / "home")
    env = _environment(settings)
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS"] == "critmin.airflow_home.SQLITE_CONNECT_ARGS"
    subprocess.run([sys.executable, "-c", INIT], env=env, check=True, timeout=600, capture_output=True)
    database = settings.paths.airflow_home / "airflow.db"
    with contextlib.closing(sqlite3.connect(database)) as connection:
        assert connection.execute("pragma journal_mode").fetchone() == ("wal",)

    with contextlib.closing(sqlite3.connect(database, isolation_level=None)) as holder:
        holder.execute("begin immediate")  # another component's write in progress
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITE],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert writer.stdout is not None
            assert writer.stdout.readline().strip() == "writing"
            time.sleep(HELD_SECONDS)
            assert writer.poll() is None, "the writer waits for the lock (it used to fail after 5 s)"
        finally:
            holder.execute("commit")
        output, _ = writer.communicate(timeout=120)
    assert writer.returncode == 0 and "written" in output, output
    with contextlib.closing(sqlite3.connect(database)) as connection:
        assert connection.execute(
            "select slots from slot_pool where pool = 'contention_probe'"
        ).fetchone() == (2,)


def test_a_postgresql_metadata_database_gets_no_sqlite_arguments(tmp_path):
    settings = Settings.for_home(tmp_path / "home")
    postgres = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://airflow@127.0.0.1/test"}
    env = airflow_home.airflow_environment(settings, postgres)
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == postgres["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS" not in env
