"""The embedded runner checks the metadata database's migrations once per database and Airflow
version, not at every run's start (seconds of each `make run-month`)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from critmin import airflow_home, run_output


@pytest.fixture
def initdb_calls(tmp_path, monkeypatch):
    from airflow.models.pool import Pool
    from airflow.utils import db

    home = tmp_path / "airflow"
    monkeypatch.setenv("AIRFLOW_HOME", str(home))
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home / 'airflow.db'}")
    calls: list[str] = []

    def fake_initdb() -> None:  # what the real one leaves behind: the database file
        calls.append("initdb")
        (Path(os.environ["AIRFLOW_HOME"]) / "airflow.db").write_bytes(b"")

    monkeypatch.setattr(db, "initdb", fake_initdb)
    monkeypatch.setattr(Pool, "create_or_update_pool", staticmethod(lambda *args, **kwargs: None))
    return home, calls


def test_migrations_are_checked_once_per_database_and_airflow_version(initdb_calls, monkeypatch):
    home, calls = initdb_calls
    airflow_home.init_metadata()
    airflow_home.init_metadata()
    assert calls == ["initdb"], "an initialised database is not migrated again"

    (home / "airflow.db").unlink()  # a deleted database is created again
    airflow_home.init_metadata()
    assert len(calls) == 2

    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home / 'other.db'}")
    airflow_home.init_metadata()  # another database (or another Airflow version): checked again
    assert len(calls) == 3


def test_a_copied_home_keeps_its_checked_database(initdb_calls, monkeypatch, tmp_path):
    """A home copied, restored or moved carries its database and the record that it is current."""
    home, calls = initdb_calls
    airflow_home.init_metadata()
    moved = tmp_path / "moved" / "airflow"
    shutil.copytree(home, moved)
    monkeypatch.setenv("AIRFLOW_HOME", str(moved))
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{moved / 'airflow.db'}")
    airflow_home.init_metadata()
    assert calls == ["initdb"], "the copied database was checked again"

    (moved / "airflow.db").unlink()  # the copy without its database: created again
    airflow_home.init_metadata()
    assert calls == ["initdb", "initdb"]
    assert (moved / "airflow.db").exists()


def test_output_outside_a_month_survives_a_closed_capture_stream(monkeypatch, tmp_path):
    """A test runner (pytest's capsys) swaps sys.stdout for a capture, then restores the stand-in
    and closes the capture: what the stand-in writes next goes to the process's own stdout, not to
    the closed capture (which failed a later month with "I/O operation on closed file")."""
    import io
    import sys

    original = sys.stdout
    try:
        capture = io.StringIO()
        monkeypatch.setattr(sys, "stdout", capture)
        stand_in = run_output.switchable("stdout")
        assert stand_in.default is capture
        sys.stdout = stand_in  # the runner restores what it found: the stand-in
        capture.close()
        written = []
        monkeypatch.setattr(sys, "__stdout__", io.StringIO())
        stand_in.write("after the capture\n")
        written.append(sys.__stdout__.getvalue())
        assert written == ["after the capture\n"]
        with run_output.captured(tmp_path / "month.log"):
            print("inside a month")
        assert (tmp_path / "month.log").read_text() == "inside a month\n"
    finally:
        sys.stdout = original
