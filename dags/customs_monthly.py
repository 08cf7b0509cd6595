"""
### customs_monthly

China's rare-earth magnet exports (tariff code 85051110), one run per **data month** (the month the
trade happened).

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
   place.
7. **brief**: write the month's brief from `serving.duckdb`: `$CRITMIN_HOME/briefs/YYYY-MM.md` and
   `.html`, with a chart (`.png`). It runs after the publish and never changes the data.

Every validation is in the Data Docs under `$CRITMIN_HOME/docs/quality/`.

Tasks that write `warehouse.duckdb` share the one-slot pool `critmin_warehouse` and the `warehouse`
queue: DuckDB allows a single writer. From load to publish the run holds the warehouse lease, so no
other run (a registers run in a retry window, a second process) publishes this month ungated; a
run that finds it held fails and is retried. The DAG runs on the 25th and loads the month before (GACC
publishes around the 20th); a manual run names its month with the param `{"month": "2025-05"}`.
Logic lives in `critmin.steps.customs_monthly` and `critmin.sources.gacc`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, task

from critmin.settings import WAREHOUSE_POOL, WAREHOUSE_QUEUE

writes_warehouse = {"pool": WAREHOUSE_POOL, "queue": WAREHOUSE_QUEUE}


@dag(
    dag_id="customs_monthly",
    # GACC publishes a month's breakdown around the 20th of the next month: run on the 25th and
    # load the month before (the run of 2025-06-25 loads May 2025).
    schedule=CronTriggerTimetable("0 6 25 * *", timezone="UTC"),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "critmin", "retries": 2, "retry_delay": timedelta(minutes=5)},
    params={
        "month": Param(
            None,
            type=["null", "string"],
            pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
            description="Data month YYYY-MM; empty: the month before the run's logical date.",
        )
    },
    tags=["critmin", "customs", "gacc"],
    doc_md=__doc__,
)
def customs_monthly():
    @task
    def land(**context) -> str:
        from critmin.steps import customs_monthly as steps
        from critmin.steps.tasks import run

        month = steps.month_of_run(context)
        run(steps.land, month, steps.latest_month_of_run(context))
        return str(month)

    @task
    def gate_raw(month: str) -> list[dict]:
        from critmin.steps import customs_monthly as steps
        from critmin.steps.tasks import run

        return run(steps.gate_raw, month)

    @task(**writes_warehouse)
    def load(month: str, raw_results: list[dict], **context) -> int:
        from critmin.steps import customs_monthly as steps
        from critmin.steps.tasks import run

        return run(steps.load, steps.run_ref(context, month), month, raw_results, retry=True)

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

    @task(**writes_warehouse)
    def publish(month: str, **context) -> dict[str, int]:
        from critmin.steps import customs_monthly as steps
        from critmin.steps.tasks import run

        return run(steps.publish, steps.run_ref(context, month), retry=True)

    @task
    def brief(month: str) -> list[str]:
        from critmin.steps import customs_monthly as steps
        from critmin.steps.tasks import run

        return run(steps.brief, month)

    month = land()
    loaded = load(month, gate_raw(month))
    loaded >> transform(month) >> gate_marts(month) >> publish(month) >> brief(month)


customs_monthly()
