"""A run rebuilds only the models downstream of what it loaded, and gets what a whole build gets."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import date

import duckdb
import pytest
from conftest import copy_dbt_project, copy_home, land_sample_month, run_customs_steps

from critmin import transform
from critmin.errors import PipelineError
from critmin.months import Month
from critmin.settings import Settings
from critmin.sources.gacc.load import load_month
from critmin.steps import registers as register_steps
from critmin.warehouse import RunRef, put_back, whole_build_fingerprint

pytestmark = pytest.mark.e2e

PART = "rebuilding the models downstream of the sources"
WHOLE = "building every model"


def _marts(settings: Settings) -> dict[str, list[tuple]]:
    """Every table and view dbt built outside staging, in full, ordered."""
    with duckdb.connect(str(settings.paths.warehouse_db), read_only=True) as con:
        relations = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('marts', 'audit') and table_name not like 'whole_builds' "
            "and table_name not like 'loads' order by all"
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


class _Messages(logging.Handler):
    """critmin.transform's log messages, for a module-scoped fixture (caplog is per test)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def builds(self) -> list[str]:
        found = [kind for message in self.messages for kind in (PART, WHOLE) if message.startswith(kind)]
        self.messages.clear()
        return found

    @contextmanager
    def attached(self):
        logger = logging.getLogger("critmin.transform")
        level = logger.level
        logger.addHandler(self)
        logger.setLevel(logging.INFO)
        try:
            yield self
        finally:
            logger.removeHandler(self)
            logger.setLevel(level)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Months run out of order (2025-09 last), a registers run between them and a rerun, each
    rebuilding only what its load changed; what the runs built and the marts they left."""
    settings = Settings.for_home(tmp_path_factory.mktemp("transform") / "home", single_process_runs=True)
    for month in ("2025-10", "2025-08", "2025-09"):
        land_sample_month(settings.paths, month)
    with _Messages().attached() as log:
        run_customs_steps(settings, "2025-10", "first")
        run_customs_steps(settings, "2025-08", "late")
        _run_registers(settings, "registers")
        run_customs_steps(settings, "2025-09", "last")
        run_customs_steps(settings, "2025-09", "rerun")
        builds = log.builds()
    return settings, builds, _marts(settings)


def _copy_of(built, tmp_path, *leave_out: str) -> Settings:
    """A copy of the built home (without DuckDB's WAL files, nor ``leave_out``) for one test."""
    home = tmp_path / "home"
    copy_home(built[0].paths.home, home, *leave_out)
    return Settings.for_home(home)


def test_runs_in_any_order_rebuild_only_what_changed_and_match_a_whole_build(built, tmp_path):
    settings, builds, partly_built = built
    assert builds == [WHOLE, PART, PART, PART, PART]
    assert partly_built["marts.fct_magnet_exports_monthly"], "the months were built"
    copy = Settings.for_home(tmp_path / "home")
    copy_home(settings.paths.home, copy.paths.home)

    transform.build(copy)  # every model, from the same raw tables

    assert _marts(copy) == partly_built


def test_a_restore_or_a_changed_project_makes_the_next_build_whole(built, tmp_path):
    settings = _copy_of(built, tmp_path)
    db = settings.paths.warehouse_db
    assert whole_build_fingerprint(db) == transform.project_fingerprint(settings.dbt_project_dir)

    with _Messages().attached() as log:
        dead = RunRef("customs_monthly", "dead", "2025-09")
        load_month(settings, Month.parse("2025-09"), run=dead)
        assert put_back(db, dead)  # what a failed or dead run's clean-up does
        assert whole_build_fingerprint(db) is None
        transform.build(settings, transform.CUSTOMS)
        assert log.builds() == [WHOLE]
        transform.build(settings, transform.CUSTOMS)
        assert log.builds() == [PART]

        project = tmp_path / "dbt_project"
        copy_dbt_project(project)
        model = project / "models" / "marts" / "trade" / "fct_magnet_exports_monthly.sql"
        model.write_text(model.read_text(encoding="utf-8") + "\n-- a changed model\n", encoding="utf-8")
        transform.build(Settings.for_home(settings.paths.home, dbt_project_dir=project), transform.CUSTOMS)
        assert log.builds() == [WHOLE]
    assert whole_build_fingerprint(db) == transform.project_fingerprint(project)


def test_a_whole_build_that_fails_leaves_the_next_build_whole(built, tmp_path):
    """A failed whole build may leave some relations of the new project: no earlier whole build
    vouches for the warehouse any more, even once the project is put back."""
    settings = _copy_of(built, tmp_path)
    db = settings.paths.warehouse_db
    project = tmp_path / "dbt_project"
    copy_dbt_project(project)
    model = project / "models" / "marts" / "trade" / "fct_magnet_exports_monthly.sql"
    model.write_text("select * from a_relation_that_does_not_exist\n", encoding="utf-8")

    with pytest.raises(PipelineError, match="fct_magnet_exports_monthly"):
        transform.build(Settings.for_home(settings.paths.home, dbt_project_dir=project), transform.CUSTOMS)

    assert whole_build_fingerprint(db) is None
    with _Messages().attached() as log:
        transform.build(settings, transform.CUSTOMS)  # the project as it was
        assert log.builds() == [WHOLE]


def test_the_fingerprint_follows_the_project_files_and_ignores_dbt_output(tmp_path):
    project = tmp_path / "dbt_project"
    copy_dbt_project(project)
    before = transform.project_fingerprint(project)
    (project / "target").mkdir(exist_ok=True)
    (project / "target" / "manifest.json").write_text("{}", encoding="utf-8")
    (project / "sqlfluff_libs" / "__pycache__").mkdir(exist_ok=True)
    (project / "sqlfluff_libs" / "__pycache__" / "dbt.cpython-311.pyc").write_bytes(b"\0")
    assert transform.project_fingerprint(project) == before
    seed = next((project / "seeds").rglob("*.csv"))
    seed.write_bytes(seed.read_bytes() + b"\n")
    assert transform.project_fingerprint(project) != before


def test_dbt_lets_go_of_the_warehouse_file_when_its_invocation_ends(built, tmp_path):
    """dbt-duckdb keeps the file open for a whole invocation (one open, not one per node);
    critmin.transform closes it at the end, so another process can write it at once."""
    import subprocess
    import sys

    settings = _copy_of(built, tmp_path)

    transform.run_dbt(settings, ["build", "--select", "data_quality_results"])

    writer = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
        "con.execute('create table main.written_after_dbt as select 1 as x'); con.close()"
    )
    done = subprocess.run(
        [sys.executable, "-c", writer, str(settings.paths.warehouse_db)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_a_pipeline_build_writes_no_json_artifacts_into_target(built, tmp_path):
    """Nothing reads target/manifest.json or run_results.json after a build (the results come back
    from the invocation), and serialising the manifest cost every build CPU."""
    settings = _copy_of(built, tmp_path)
    target = settings.paths.dbt_state / "target"
    for artifact in ("manifest.json", "run_results.json"):
        (target / artifact).unlink(missing_ok=True)

    results = transform.run_dbt(settings, ["build", "--select", "data_quality_results"])

    assert [str(r.status) for r in results.results] == ["success"]
    assert not (target / "manifest.json").exists() and not (target / "run_results.json").exists()


def _parses(caplog) -> list[str]:
    messages = [r.getMessage() for r in caplog.records if r.name == "critmin.transform"]
    return [message for message in messages if "parse" in message]


def test_a_copied_home_runs_dbt_on_the_parse_it_kept_not_a_new_one(built, tmp_path, monkeypatch, caplog):
    """dbt reparses the whole project in a home at a new path (the warehouse's path is in its
    profile); the parse the home kept serves the next process there instead."""
    settings = _copy_of(built, tmp_path)
    (kept,) = (settings.paths.home / "dbt" / transform.PARSED_FOLDER).glob("*.msgpack")
    monkeypatch.setattr(transform, "_MANIFESTS", {})  # as in a new process
    parsed, parse = [], transform._parse
    monkeypatch.setattr(transform, "_parse", lambda *args: parsed.append(args) or parse(*args))

    with caplog.at_level(logging.INFO, logger="critmin.transform"):
        transform.run_dbt(settings, ["build", "--select", "data_quality_results"])

    assert not parsed, "the project was parsed again"
    assert _parses(caplog) == [f"dbt project parse: the one kept in {kept.parent}"]
    assert (
        duckdb.connect(str(settings.paths.warehouse_db), read_only=True)
        .execute("select count(*) from marts.data_quality_results")
        .fetchone()[0]
    )


def test_a_damaged_kept_parse_is_parsed_again_and_replaced(built, tmp_path, monkeypatch, caplog):
    settings = _copy_of(built, tmp_path)
    (kept,) = (settings.paths.home / "dbt" / transform.PARSED_FOLDER).glob("*.msgpack")
    kept.write_bytes(kept.read_bytes()[:5000])  # cut short, as by a full disk
    monkeypatch.setattr(transform, "_MANIFESTS", {})

    with caplog.at_level(logging.INFO, logger="critmin.transform"):
        transform.run_dbt(settings, ["build", "--select", "data_quality_results"])

    (warning,) = [m for m in _parses(caplog) if m.startswith("cannot read")]
    assert str(kept) in warning and "parsing the project again" in warning
    monkeypatch.setattr(transform, "_MANIFESTS", {})
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="critmin.transform"):
        transform.run_dbt(settings, ["build", "--select", "data_quality_results"])
    assert _parses(caplog) == [f"dbt project parse: the one kept in {kept.parent}"]


def _views(settings: Settings) -> set[str]:
    with duckdb.connect(str(settings.paths.warehouse_db), read_only=True) as con:
        rows = con.execute("select schema_name, view_name from duckdb_views() where not internal").fetchall()
    return {f"{schema}.{name}" for schema, name in rows}


def test_a_partial_build_leaves_the_views_as_built_and_still_runs_their_tests(built, tmp_path):
    """A view is its SQL, unchanged since the whole build: a run's build does not recreate it, but
    the data tests on it check the data the run loaded, and a failing one fails the build."""
    settings = _copy_of(built, tmp_path)
    views = _views(settings)
    assert "staging.stg_gacc__export_rows" in views

    results = transform.build(settings, transform.CUSTOMS, [Month.parse("2025-09")], transform.AFTER_THE_GATE)

    ran = {r.node.unique_id: r.node for r in results.results}
    assert ran, "the build ran nothing"
    assert not [uid for uid, node in ran.items() if getattr(node.config, "materialized", None) == "view"]
    assert "model.critmin.fct_magnet_exports_monthly" in ran
    view_tests = [uid for uid in ran if uid.startswith("test.critmin.not_null_stg_gacc__export_rows_")]
    assert len(view_tests) >= 2, sorted(ran)
    assert _views(settings) == views, "a view was dropped"
    after_the_gate = [f"model.critmin.{name}" for name in transform.AFTER_THE_GATE]
    assert not [uid for uid, node in ran.items() if set(after_the_gate) & set(node.depends_on.nodes)]

    with duckdb.connect(str(settings.paths.warehouse_db)) as con:
        con.execute("update raw.gacc_export_rows set hs8_code = null where data_month = date '2025-09-01'")
    with pytest.raises(PipelineError, match="not_null_stg_gacc__export_rows_hs8_code"):
        transform.build(settings, transform.CUSTOMS, [Month.parse("2025-09")], transform.AFTER_THE_GATE)


def _dbt_log(settings: Settings) -> str:
    return (settings.paths.dbt_state / "logs" / "dbt.log").read_text(encoding="utf-8", errors="replace")


def test_dbts_log_file_is_at_info_unless_asked_for_debug(built, tmp_path, monkeypatch):
    """At debug, dbt's file log records every SQL statement, and writing it cost a build CPU."""
    settings = _copy_of(built, tmp_path, "logs")
    monkeypatch.delenv("DBT_LOG_LEVEL_FILE", raising=False)

    transform.run_dbt(settings, ["build", "--select", "data_quality_results"])

    logged = _dbt_log(settings)
    assert "PASS" in logged or "OK created" in logged, logged[-2000:]
    assert "[debug]" not in logged
    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")
    transform.run_dbt(settings, ["build", "--select", "data_quality_results"])
    assert "[debug]" in _dbt_log(settings)[len(logged) :]
