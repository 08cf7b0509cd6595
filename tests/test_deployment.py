"""What the production image and the Airflow tasks need beyond the embedded default."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from conftest import REPO

from critmin.settings import Settings, repo_root
from critmin.steps import customs_monthly, registers
from critmin.steps.tasks import run


def _copied_into_the_image() -> set[str]:
    sources = set()
    for line in (REPO / "Dockerfile").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^COPY\s+(?!--)(.+)\s+\S+$", line.strip())
        if match:
            sources.update(match.group(1).split())
    return sources


def test_the_image_carries_every_folder_the_package_reads_at_run_time():
    settings = Settings.from_env({})
    read_at_run_time = {
        "dbt project": settings.dbt_project_dir,
        "suites": settings.expectations_dir,
        "registers": settings.registers_dir,
        "DAGs": repo_root() / "dags",
        "package": repo_root() / "src",
    }
    copied = _copied_into_the_image()
    for what, folder in read_at_run_time.items():
        relative = folder.relative_to(repo_root()).as_posix()
        assert any(relative == c or relative.startswith(c.rstrip("/") + "/") for c in copied), (
            f"the Dockerfile does not copy the {what} ({relative}/)"
        )


def test_the_build_context_leaves_out_local_state():
    ignored = set((REPO / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".venv", "warehouse", ".tools", ".env", "**/*.duckdb"} <= ignored


def test_a_registers_run_without_a_logical_date_is_dated_by_its_run_after():
    triggered = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    context = {"logical_date": None, "dag_run": SimpleNamespace(run_after=triggered)}
    assert registers.as_of(context).isoformat() == "2026-11-28"


@pytest.mark.parametrize("retry", [False, True])
def test_a_missing_suite_fails_at_once_instead_of_being_retried(tmp_path, monkeypatch, retry):
    from airflow.sdk.exceptions import AirflowFailException

    monkeypatch.setenv("CRITMIN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CRITMIN_EXPECTATIONS_DIR", str(tmp_path / "no-suites"))
    with pytest.raises(AirflowFailException, match=r"gacc_export_files\.json: cannot read suite"):
        run(customs_monthly.land, "2025-09", retry=retry)


def test_a_full_disk_is_told_as_such_and_leaves_no_half_copy_in_the_raw_zone(tmp_path, monkeypatch):
    """Landing on a full disk: the step fails at once naming the device's folder and what to do;
    the raw zone keeps no half-written object (a later run would otherwise find it)."""
    import errno
    import shutil

    from airflow.sdk.exceptions import AirflowFailException
    from conftest import land_sample_month

    home = tmp_path / "home"
    monkeypatch.setenv("CRITMIN_HOME", str(home))
    land_sample_month(Settings.for_home(home).paths, "2025-05")
    copy = shutil.copyfile

    def full_disk(source, target, **options):
        copy(source, target, **options)  # some bytes written, then the device is full
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr(shutil, "copyfile", full_disk)
    with pytest.raises(AirflowFailException) as failed:
        run(customs_monthly.land, "2025-05")
    message = str(failed.value)
    assert message.startswith("land: no space left on the device holding ") and str(home / "raw") in message
    assert "Free space there" in message and "serving.duckdb is unchanged" in message
    assert not list((home / "raw").rglob("*.partial")), "no half copy is left"
    # The console line of an embedded run quotes it from the run's log, as any critmin error.
    from critmin.run_output import error_from_log

    cause = failed.value.__cause__
    log = tmp_path / "run.log"
    log.write_text(f"{type(cause).__module__}.{type(cause).__name__}: {cause}\n", encoding="utf-8")
    assert error_from_log(log) == message
    assert not list((home / "raw").rglob("*.csv")) and not (home / "raw" / "manifest.jsonl").exists()


def test_a_full_disk_outside_any_step_is_told_by_the_command_not_as_a_traceback(
    tmp_path, monkeypatch, capsys
):
    """Airflow's start (its SQLite metadata) or a run's own log can be what meets the full disk:
    the command says so, where, and what to do, in words, instead of a traceback."""
    import errno
    import sqlite3

    from critmin import cli, errors

    home = tmp_path / "home"
    monkeypatch.setenv("CRITMIN_HOME", str(home))

    def failing(error: BaseException):
        def command(*_args):
            raise error

        return command

    def said_by(error: BaseException) -> str:
        monkeypatch.setattr(cli, "_command", failing(error))
        assert cli.main(["run-month", "2025-05"]) == 1
        return capsys.readouterr().err

    said = said_by(OSError(errno.ENOSPC, "No space left on device"))
    assert said.startswith(f"critmin run-month: the disk holding CRITMIN_HOME ({home}) is full (")
    assert "free space on that disk" in said and "serving.duckdb is only ever replaced whole" in said
    # The disk of the file the error names, when it names one (a backup's destination).
    elsewhere = tmp_path / "backups" / "critmin-home" / "raw.csv"
    said = said_by(OSError(errno.ENOSPC, "No space left on device", str(elsewhere)))
    assert said.startswith(f"critmin run-month: the disk holding {elsewhere} is full (")
    # SQLite says only "disk I/O error": a full disk when next to nothing is free there...
    monkeypatch.setattr(errors, "NEARLY_FULL_BYTES", 2**62)
    assert "is full (" in said_by(sqlite3.OperationalError("disk I/O error"))
    # ... and no other error is taken for one, however little is free.
    for other in (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), FileNotFoundError("gone")):
        monkeypatch.setattr(cli, "_command", failing(other))
        with pytest.raises(type(other)):
            cli.main(["run-month", "2025-05"])
    monkeypatch.setattr(errors, "NEARLY_FULL_BYTES", 0)
    monkeypatch.setattr(cli, "_command", failing(sqlite3.OperationalError("disk I/O error")))
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        cli.main(["run-month", "2025-05"])


def test_a_run_log_on_a_full_disk_gives_the_console_back(tmp_path):
    """``captured`` restores stdout and stderr even when its log cannot be flushed (ENOSPC), so the
    error that follows reaches the console instead of the full file."""
    import subprocess
    import sys

    script = (
        "from pathlib import Path\n"
        "from critmin.run_output import captured\n"
        "try:\n"
        "    with captured(Path('/dev/full')):\n"
        "        print('into the full disk')\n"
        "except OSError as error:\n"
        "    print('back on the console:', error.errno)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.stdout == "back on the console: 28\n", done.stderr
