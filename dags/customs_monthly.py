"""
### customs_monthly

China's rare-earth magnet exports (tariff code 85051110), one run per **data month** (the month the
trade happened).

0. **wait_for_files**: a sensor (reschedule mode: it holds no worker or pool slot between pokes).
   A scheduled run waits until the month's landing folder has files and has not changed for an
   hour (`CRITMIN_FILES_QUIET_SECONDS`), looking every 30 minutes (`CRITMIN_FILES_POKE_SECONDS`),
   and gives up at the end of the month after GACC's publication (May's run of 25 June waits
   until 1 August), naming the folder. A backfill run waits for files the same way, but lands
   them as soon as they are there. A manual run (the UI, `make run-month`) does not wait: with no
   files it fails at once, naming the folder.
1. **land**: copy the month's downloads from `$CRITMIN_HOME/landing/gacc/export/YYYY-MM/` into the
   immutable raw zone and the manifest. A file the reader refuses (encoding, headers, malformed
   rows) is moved to `quarantine/` with a JSON report, and the run fails naming file, line and rule.
2. **gate_raw**: the Great Expectations suite `expectations/gacc_export_rows.json` on each file. A
   critical failure quarantines the file and fails the run before anything is loaded; warnings
   are logged and recorded.
3. **load**: replace the month's partition of `raw.gacc_export_rows` in `warehouse.duckdb`, in one
   transaction, keeping the previous partition aside.
4. **transform**: one `dbt build` (staging -> intermediate -> audit, marts, with dbt's data tests).
5. **gate_marts**: `expectations/fct_magnet_exports_monthly.json` reconciles the marts with the
   raw rows and `gacc_export_month.json` checks the partners against the world total, on the dbt
   audit models. A critical failure (or a failed dbt build) restores the previous partition.
6. **publish**: write a new `serving.duckdb` (DuckDB 1.4 storage, read-only) and rename it into
   place. Its success updates the asset `critmin_served_marts`: a DAG with
   `schedule=[Asset(name="critmin_served_marts", uri="x-critmin://serving/marts")]` runs after it.
7. **brief**: write the month's brief from `serving.duckdb`: `$CRITMIN_HOME/briefs/YYYY-MM.md` and
   `.html`, with a chart (`.png`). It runs after the publish and never changes the data.
8. **release_warehouse** (teardown of `load`): runs however the run ends. If the month was not
   published (a gate refused it, a task's retries ran out, an operator marked the run failed),
   what the run loaded is put back; the warehouse lease is freed either way.

Every validation is in the Data Docs under `$CRITMIN_HOME/docs/quality/`.

Tasks that write `warehouse.duckdb` share the one-slot pool `critmin_warehouse` and the `warehouse`
queue: DuckDB allows a single writer (wait_for_files is in neither). From load to publish the run
holds the warehouse lease, so no other run (a registers run in a retry window, a second process)
publishes this month ungated; a run that finds it held waits (its load is retried), and one whose
holder's run has ended takes it at once. Publishing checks the warehouse's own record of loads:
nothing a run did not gate is published, whatever happens to the lease file. Up to four runs may be
active, so a scheduled run waiting for its files blocks no other month. The DAG runs on the 25th
and loads the month before (GACC publishes around the 20th); a manual run names its month with the
param `{"month": "2025-05"}`. Logic lives in `critmin.steps.customs_monthly` and
`critmin.sources.gacc`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, BaseSensorOperator, CronTriggerTimetable, Param, dag, task

from critmin.alerts import on_failure
from critmin.settings import (
    LOAD_RETRIES,
    LOAD_RETRY_DELAY,
    SERVED_MARTS_ASSET,
    SERVED_MARTS_URI,
    WAREHOUSE_POOL,
    WAREHOUSE_QUEUE,
    files_poke_seconds,
    task_retry_delay,
)

writes_warehouse = {"pool": WAREHOUSE_POOL, "queue": WAREHOUSE_QUEUE}
served_marts = Asset(name=SERVED_MARTS_ASSET, uri=SERVED_MARTS_URI)


class WaitForFiles(BaseSensorOperator):
    """Whether the run's month can be landed: ``critmin.steps.customs_monthly.wait_for_files``.
    (A sensor of its own: ``@task.sensor``'s PythonSensor logs a deprecation warning at every parse.)"""

    def poke(self, context) -> bool:
        from critmin.steps import customs_monthly as steps
        from critmin.steps.tasks import poke

        return poke(
            steps.wait_for_files,
            steps.month_of_run(context),
            steps.latest_month_of_run(context),
            steps.run_type_of(context),
        )


@dag(
    dag_id="customs_monthly",
    # GACC publishes a month's breakdown around the 20th of the next month: run on the 25th and
    # load the month before (the run of 2025-06-25 loads May 2025).
    schedule=CronTriggerTimetable("0 6 25 * *", timezone="UTC"),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    # A run waiting for its files stays active: the pool and the warehouse lease, not this, keep
    # the writers apart.
    max_active_runs=4,
    default_args={
        "owner": "critmin",
        "retries": 2,
        "retry_delay": task_retry_delay(),
        # A task that fails for good (retries run out) alerts whoever CRITMIN_ALERT_EMAIL names.
        "on_failure_callback": on_failure,
    },
    params={
        "month": Param(
            None,
            type=["null", "string"],
            pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
            description="Data month YYYY-MM; empty: the month before the run's logical date.",
        ),
        "backfill": Param(
            False,
            type="boolean",
            description=(
                "Add earlier releases to the history: land files released before one already landed for "
                "the month (their dates in release_dates.csv). An Airflow backfill run is one."
            ),
        ),
    },
    tags=["critmin", "customs", "gacc"],
    doc_md=__doc__,
)
def customs_monthly():
    wait_for_files = WaitForFiles(
        task_id="wait_for_files",
        mode="reschedule",
        poke_interval=files_poke_seconds(),
        # A backstop only: the step gives up at the month's own deadline, naming the folder.
        timeout=timedelta(days=45).total_seconds(),
    )

    @task
    def land(**context) -> str:
        from critmin.steps import customs_monthly as steps
        from critmin.steps.tasks import run

        month = steps.month_of_run(context)
        run(steps.land, month, steps.latest_month_of_run(context), steps.is_backfill(context))
        return str(month)

    @task
    def gate_raw(month: str) -> list[dict]:
        from critmin.steps import customs_monthly as steps
        from critmin.steps.tasks import run

        return run(steps.gate_raw, month)

    # With several runs active, a load can find the warehouse leased to another run until that run
    # publishes or ends: it fails, freeing the pool slot, and is retried (see LOAD_RETRIES).
    @task(**writes_warehouse, retries=LOAD_RETRIES, retry_delay=LOAD_RETRY_DELAY)
    def load(month: str, raw_results: list[dict], **context) -> int:
        from critmin.steps import customs_monthly as steps
        from critmin.steps.tasks import run

        run_ref = steps.run_ref(context, month)
        return run(steps.load, run_ref, month, raw_results, steps.airflow_run_state(context), retry=True)

    @task(**writes_warehouse)
    def transform(month: str, **context) -> None:
        from critmin.steps import customs_monthly as steps
        from critmin.steps.tasks import run

        run(steps.transform, steps.run_ref(context, month), month)

    @task(**writes_warehouse)
    def gate_marts(month: str, **context) -> list[dict]:
        from critmin.steps import customs_monthly as steps
        from critmin.steps.tasks import run

        return run(steps.gate_marts, steps.run_ref(context, month), month)

    @task(**writes_warehouse, outlets=[served_marts])
    def publish(month: str, **context) -> dict[str, int]:
        from critmin.steps import customs_monthly as steps
        from critmin.steps.tasks import run

        return run(steps.publish, steps.run_ref(context, month), retry=True)

    @task
    def brief(month: str) -> list[str]:
        from critmin.steps import customs_monthly as steps
        from critmin.steps.tasks import run

        return run(steps.brief, month)

    @task(**writes_warehouse)
    def release_warehouse(month: str, **context) -> str:
        from critmin.steps import customs_monthly as steps
        from critmin.steps.tasks import run

        return run(steps.release_warehouse, steps.run_ref(context, month), retry=True)

    month = land()
    wait_for_files >> month
    loaded = load(month, gate_raw(month)).as_setup()
    published = loaded >> transform(month) >> gate_marts(month) >> publish(month)
    published >> brief(month)
    published >> release_warehouse(month).as_teardown(setups=loaded)


customs_monthly()
