"""Publishing serving.duckdb: what a killed publish leaves behind is cleaned up by the next one."""

from __future__ import annotations

import subprocess
import sys

import duckdb

from critmin.publish import publish


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=60)
    return process.pid


def _warehouse_with_a_mart(paths) -> None:
    paths.home.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(paths.warehouse_db)) as con:
        con.execute("create schema marts; create table marts.t as select 1 as x")


def test_staged_files_of_a_killed_publish_are_removed_by_the_next(paths):
    _warehouse_with_a_mart(paths)
    dead = _dead_pid()
    staged = paths.serving_db.with_name(f".serving.duckdb.{dead}.new")
    wal = staged.with_name(staged.name + ".wal")
    spilled = staged.with_name(staged.name + ".tmp")
    staged.write_bytes(b"half a database")
    wal.write_bytes(b"half a log")
    spilled.mkdir()
    (spilled / "duckdb_temp_storage-0.tmp").write_bytes(b"spilled rows")
    unrelated = paths.home / "notes.txt"
    unrelated.write_text("mine", encoding="utf-8")

    assert publish(paths) == {"t": 1}

    assert not staged.exists() and not wal.exists() and not spilled.exists()
    assert unrelated.exists()
    assert sorted(p.name for p in paths.home.iterdir()) == ["notes.txt", "serving.duckdb", "warehouse.duckdb"]


def test_a_running_publishers_staged_file_is_left_alone(paths):
    _warehouse_with_a_mart(paths)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        staged = paths.serving_db.with_name(f".serving.duckdb.{sleeper.pid}.new")
        staged.write_bytes(b"in progress")
        publish(paths)
        assert staged.exists()
    finally:
        sleeper.kill()
        sleeper.wait(timeout=60)
