"""The embedded runner checks the metadata database's migrations once per database and Airflow
version, not at every run's start (seconds of each `make run-month`)."""

from __future__ import annotations

import pytest

from critmin import embedded


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
        (home / "airflow.db").write_bytes(b"")

    monkeypatch.setattr(db, "initdb", fake_initdb)
    monkeypatch.setattr(Pool, "create_or_update_pool", staticmethod(lambda *args, **kwargs: None))
    return home, calls


def test_migrations_are_checked_once_per_database_and_airflow_version(initdb_calls, monkeypatch):
    home, calls = initdb_calls
    embedded.init_metadata()
    embedded.init_metadata()
    assert calls == ["initdb"], "an initialised database is not migrated again"

    (home / "airflow.db").unlink()  # a deleted database is created again
    embedded.init_metadata()
    assert len(calls) == 2

    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home / 'other.db'}")
    embedded.init_metadata()  # another database (or another Airflow version): checked again
    assert len(calls) == 3
