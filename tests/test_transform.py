"""A run rebuilds only the models downstream of what it loaded, and gets what a whole build gets."""

from __future__ import annotations

import logging
import shutil
from datetime import date

import duckdb
import pytest
from conftest import REPO, land_sample_month, run_customs_steps

from critmin import transform
from critmin.months import Month
from critmin.settings import Settings
from critmin.steps import registers as register_steps
from critmin.warehouse import restore_customs_month, whole_build_fingerprint
from critmin.warehouse.lease import RunRef

pytestmark = pytest.mark.e2e

PART = "rebuilding the models downstream of the sources"
WHOLE = "building every model"


def _marts(settings: Settings) -> dict[str, list[tuple]]:
    """Every table and view dbt built outside staging, in full, ordered."""
    with duckdb.connect(str(settings.paths.warehouse_db), read_only=True) as con:
        relations = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('marts', 'audit') and table_name not like 'whole_builds' "
            "and table_name not like 'warehouse_loads' order by all"
        ).fetchall()
        return {
            f"{schema}.{name}": con.execute(f"select * from {schema}.{name} order by all").fetchall()
            for schema, name in relations
        }


def _run_registers(settings: Settings, run_id: str) -> None:
    run = RunRef("registers", run_id, "registers")
    register_steps.load(settings, run, register_steps.gate(settings, date(2026, 11, 28)))
    register_steps.transform(settings, run)
    register_steps.publish(settings, run)


def _builds(caplog) -> list[str]:
    messages = [record.getMessage() for record in caplog.records]
    return [kind for message in messages for kind in (PART, WHOLE) if message.startswith(kind)]


def test_runs_in_any_order_rebuild_only_what_changed_and_match_a_whole_build(settings, caplog):
    caplog.set_level(logging.INFO, logger="critmin.transform")
    for month in ("2025-10", "2025-08", "2025-09"):  # out of order: 2025-09 arrives last
        land_sample_month(settings.paths, month)
    run_customs_steps(settings, "2025-10", "first")
    run_customs_steps(settings, "2025-08", "late")
    _run_registers(settings, "registers")
    run_customs_steps(settings, "2025-09", "last")
    run_customs_steps(settings, "2025-09", "rerun")
    assert _builds(caplog) == [WHOLE, PART, PART, PART, PART]
    partly_built = _marts(settings)
    assert partly_built["marts.fct_magnet_exports_monthly"], "the months were built"

    transform.build(settings)  # every model, from the same raw tables

    assert _marts(settings) == partly_built


def test_a_restore_or_a_changed_project_makes_the_next_build_whole(settings, caplog, tmp_path):
    caplog.set_level(logging.INFO, logger="critmin.transform")
    land_sample_month(settings.paths, "2025-09")
    run_customs_steps(settings, "2025-09", "first")
    db = settings.paths.warehouse_db
    assert whole_build_fingerprint(db) == transform.project_fingerprint(settings.dbt_project_dir)

    restore_customs_month(db, Month.parse("2025-09"))  # what a failed or dead run's clean-up does
    assert whole_build_fingerprint(db) is None
    caplog.clear()
    run_customs_steps(settings, "2025-09", "after-restore")
    assert _builds(caplog) == [WHOLE]

    project = tmp_path / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    model = project / "models" / "marts" / "trade" / "fct_magnet_exports_monthly.sql"
    model.write_text(model.read_text(encoding="utf-8") + "\n-- a changed model\n", encoding="utf-8")
    changed = Settings.for_home(settings.paths.home, dbt_project_dir=project)
    caplog.clear()
    run_customs_steps(changed, "2025-09", "changed-project")
    assert _builds(caplog) == [WHOLE]
    assert whole_build_fingerprint(db) == transform.project_fingerprint(project)


def test_the_fingerprint_follows_the_project_files_and_ignores_dbt_output(tmp_path):
    project = tmp_path / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    before = transform.project_fingerprint(project)
    (project / "target").mkdir(exist_ok=True)
    (project / "target" / "manifest.json").write_text("{}", encoding="utf-8")
    assert transform.project_fingerprint(project) == before
    seed = next((project / "seeds").rglob("*.csv"))
    seed.write_bytes(seed.read_bytes() + b"\n")
    assert transform.project_fingerprint(project) != before
