"""DAG integrity: every DAG imports, is documented and owned, retries, and does nothing at parse time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from critmin.months import Month, month_for_run
from critmin.settings import WAREHOUSE_POOL, WAREHOUSE_QUEUE


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    # known_pools makes the DagBag warn about a task whose pool does not exist.
    return DagBag(dag_folder=str(REPO / "dags"), known_pools={"default_pool", WAREHOUSE_POOL})


def test_dags_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "customs_monthly" in dagbag.dag_ids
    assert not dagbag.dag_warnings


def test_every_dag_has_tags_owner_retries_and_docs(dagbag):
    for dag_id in dagbag.dag_ids:
        dag = dagbag.dags[dag_id]
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md, f"{dag_id} has no doc_md"
        for task in dag.tasks:
            assert task.owner not in ("", "airflow"), f"{dag_id}.{task.task_id} has no owner"
            assert task.retries >= 1, f"{dag_id}.{task.task_id} does not retry"


def test_warehouse_writers_are_serialized(dagbag):
    """By the pool and the warehouse lease, not by allowing one run: a run waiting for its files
    must not keep another month's manual run from starting."""
    dag = dagbag.dags["customs_monthly"]
    assert dag.max_active_runs > 1
    writers_in_order = ["load", "transform", "gate_marts", "publish"]
    writers = {*writers_in_order, "release_warehouse"}
    for task in dag.tasks:
        if task.task_id in writers:
            assert (task.pool, task.queue) == (WAREHOUSE_POOL, WAREHOUSE_QUEUE)
        else:
            assert task.pool != WAREHOUSE_POOL
            assert task.queue != WAREHOUSE_QUEUE
    order = [t.task_id for t in dag.topological_sort()]
    assert order[:7] == ["wait_for_files", "land", "gate_raw", *writers_in_order]
    assert set(order[7:]) == {"brief", "release_warehouse"}
    for dag_id in ("customs_monthly", "commodity_tables", "registers"):  # every writer shares the one pool
        for task in dagbag.dags[dag_id].tasks:
            if task.task_id in writers:
                assert task.pool == WAREHOUSE_POOL, (dag_id, task.task_id)


@pytest.mark.parametrize("dag_id", ["customs_monthly", "commodity_tables", "registers"])
def test_a_run_that_does_not_publish_puts_back_what_it_loaded_however_it_ends(dagbag, dag_id):
    """The load is the setup and release_warehouse its teardown: Airflow runs the teardown once
    everything between them is done, failed, skipped or marked failed by an operator."""
    from airflow.sdk import TriggerRule

    dag = dagbag.dags[dag_id]
    load, release = dag.get_task("load"), dag.get_task("release_warehouse")
    assert load.is_setup and release.is_teardown
    assert release.trigger_rule == TriggerRule.ALL_DONE_SETUP_SUCCESS
    assert "publish" in release.upstream_task_ids and "load" in release.upstream_task_ids
    assert (release.pool, release.queue) == (WAREHOUSE_POOL, WAREHOUSE_QUEUE)
    # a healthy run may hold the warehouse for a while: a load waits longer than one takes
    assert load.retries * load.retry_delay.total_seconds() >= 3600


def test_a_run_waits_for_its_files_in_a_sensor_that_holds_no_slot(dagbag):
    from airflow.sdk import BaseSensorOperator

    from critmin.settings import FILES_POKE_SECONDS_MIN

    sensor = dagbag.dags["customs_monthly"].get_task("wait_for_files")
    assert isinstance(sensor, BaseSensorOperator)
    assert sensor.mode == "reschedule"
    # apache/airflow#71172: a rescheduled sensor poked more often may be failed by the scheduler,
    # and a retry absorbs it
    assert FILES_POKE_SECONDS_MIN <= sensor.poke_interval <= 3600
    assert sensor.retries >= 1
    # a backstop only: the step gives up first, at the month's own deadline (at most ~37 days
    # after the run of the 25th), naming the folder
    assert sensor.timeout >= 40 * 86400
    assert sensor.downstream_task_ids == {"land"}


def test_both_publishes_update_the_served_marts_asset(dagbag):
    from airflow.sdk import Asset

    from critmin.settings import SERVED_MARTS_ASSET, SERVED_MARTS_URI

    served = Asset(name=SERVED_MARTS_ASSET, uri=SERVED_MARTS_URI)
    for dag_id in ("customs_monthly", "registers"):
        dag = dagbag.dags[dag_id]
        for task in dag.tasks:
            expected = [served] if task.task_id == "publish" else []
            assert list(task.outlets) == expected, (dag_id, task.task_id)


def test_parsing_the_dags_touches_no_files_and_imports_no_heavy_modules(tmp_path):
    """Parse the DAG folder in a fresh interpreter and look at what it did."""
    home = tmp_path / "never-created"
    script = f"""
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder={str(REPO / "dags")!r})
heavy = [m for m in ("duckdb", "dbt", "dbt.cli.main", "critmin.sources", "critmin.warehouse",
                     "critmin.transform", "critmin.brief", "matplotlib", "great_expectations")
         if m in sys.modules]
print(json.dumps({{"errors": list(bag.import_errors), "heavy": heavy, "dags": bag.dag_ids}}))
"""
    env = {**os.environ, "CRITMIN_HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["errors"] == []
    assert "customs_monthly" in report["dags"]
    assert report["heavy"] == []
    assert not Path(home).exists(), "parsing a DAG must not create runtime state"


def test_the_run_month_comes_from_the_param_else_the_month_before_the_logical_date():
    from datetime import UTC, datetime

    june_25 = datetime(2025, 6, 25, 6, tzinfo=UTC)
    assert str(month_for_run("2025-07", june_25)) == "2025-07"
    assert str(month_for_run(None, june_25)) == "2025-05"
    assert str(month_for_run(None, datetime(2026, 1, 25, tzinfo=UTC))) == "2025-12"
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_for_run("2025-5", june_25)
    with pytest.raises(ValueError, match="no logical date"):
        month_for_run(None, None)


def test_the_schedule_runs_after_gacc_publishes(dagbag):
    from datetime import UTC, datetime

    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import TimeRestriction

    from critmin.embedded import scheduled_date

    timetable = coerce_to_core_timetable(dagbag.dags["customs_monthly"].timetable)
    earliest = datetime(2025, 6, 1, tzinfo=UTC)
    after = timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(earliest=earliest, latest=None, catchup=True),
    )
    assert after.logical_date == scheduled_date(Month(2025, 5))
    assert str(month_for_run(None, after.logical_date)) == "2025-05"


def test_an_embedded_run_of_a_month_older_than_the_dag_still_runs_its_tasks(dagbag):
    """dag.test() dated before the DAG's start runs no task and reports success: an old month's
    embedded run is dated at the start instead (the month is passed as a param)."""
    from critmin.embedded import run_date, scheduled_date

    dag = dagbag.dags["customs_monthly"]
    old = run_date(dag, Month(2016, 3))
    assert old == dag.start_date
    assert str(month_for_run("2016-03", old)) == "2016-03"
    assert run_date(dag, Month(2025, 5)) == scheduled_date(Month(2025, 5))
