"""
### commodity_tables

GACC's monthly commodity tables: the headline series, China's **rare-earth (稀土) exports and
imports** (and any other line the catalogue `gacc_table_series` names), one run per **release
month** (the latest month the tables cover).

GACC prints them twice a month: the **flash** tables (全国出口/进口重点商品量值表) around the
7th-14th of the next month, then tables **(13)/(14)** (出口/进口主要商品量值表) later that month.
The DAG runs on the 15th and the 22nd and loads the month before: the first run lands the flash,
the second adds tables 13/14 (a month's run lands whatever its folder holds).

0. **wait_for_files**: as `customs_monthly`'s (a scheduled run waits for a quiet folder, a manual
   run does not), on `$CRITMIN_HOME/landing/gacc/tables/YYYY-MM/`.
1. **land**: read each table (.xls, .xlsx or a saved .html page) by its title, unit row and
   header, take the catalogued lines, and copy it into the raw zone; a table that does not read
   as GACC prints them is quarantined, naming row, column and rule.
2. **gate_raw**: `expectations/gacc_table_figures.json` on each table (signs, sizes, the printed
   year-to-date y/y against the table's own figures).
3. **load**: replace the release month's figures in `warehouse.duckdb`, in one transaction.
4. **transform**: `dbt build` of what the tables feed (`fct_commodity_trade`, the timeline).
5. **gate_marts**: `expectations/gacc_table_release.json` sets the release against the others
   (the month plus the previous year to date, month y/y, restatements).
6. **publish** and 7. **brief**, as `customs_monthly`'s; **release_warehouse** is the teardown.

The same warehouse lease and pool as `customs_monthly` and `registers`: no run publishes another's
ungated load. Logic lives in `critmin.steps.commodity_tables` and `critmin.sources.gacc_tables`.
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


class WaitForTables(BaseSensorOperator):
    """Whether the run's release month can be landed: ``commodity_tables.wait_for_files``."""

    def poke(self, context) -> bool:
        from critmin.steps import commodity_tables as steps
        from critmin.steps.tasks import poke

        return poke(
            steps.wait_for_files,
            steps.month_of_run(context),
            steps.latest_month_of_run(context),
            steps.run_type_of(context),
        )


@dag(
    dag_id="commodity_tables",
    # The flash lands by the 14th, tables 13/14 by the 21st: load the month before on both days.
    schedule=CronTriggerTimetable("0 6 15,22 * *", timezone="UTC"),
    start_date=pendulum.datetime(2023, 1, 1, tz="UTC"),
    catchup=False,
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
            description="Release month YYYY-MM; empty: the month before the run's logical date.",
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
    tags=["critmin", "customs", "gacc", "rare-earths"],
    doc_md=__doc__,
)
def commodity_tables():
    wait_for_files = WaitForTables(
        task_id="wait_for_files",
        mode="reschedule",
        poke_interval=files_poke_seconds(),
        timeout=timedelta(days=45).total_seconds(),
    )

    @task
    def land(**context) -> str:
        from critmin.steps import commodity_tables as steps
        from critmin.steps.tasks import run

        month = steps.month_of_run(context)
        run(steps.land, month, steps.latest_month_of_run(context), steps.is_backfill(context))
        return str(month)

    @task
    def gate_raw(month: str) -> list[dict]:
        from critmin.steps import commodity_tables as steps
        from critmin.steps.tasks import run

        return run(steps.gate_raw, month)

    @task(**writes_warehouse, retries=LOAD_RETRIES, retry_delay=LOAD_RETRY_DELAY)
    def load(month: str, raw_results: list[dict], **context) -> int:
        from critmin.steps import commodity_tables as steps
        from critmin.steps.tasks import run

        run_ref = steps.run_ref(context, steps.what(month))
        return run(steps.load, run_ref, month, raw_results, steps.airflow_run_state(context), retry=True)

    @task(**writes_warehouse)
    def transform(month: str, **context) -> None:
        from critmin.steps import commodity_tables as steps
        from critmin.steps.tasks import run

        run(steps.transform, steps.run_ref(context, steps.what(month)), month)

    @task(**writes_warehouse)
    def gate_marts(month: str, **context) -> list[dict]:
        from critmin.steps import commodity_tables as steps
        from critmin.steps.tasks import run

        return run(steps.gate_marts, steps.run_ref(context, steps.what(month)), month)

    @task(**writes_warehouse, outlets=[served_marts])
    def publish(month: str, **context) -> dict[str, int]:
        from critmin.steps import commodity_tables as steps
        from critmin.steps.tasks import run

        return run(steps.publish, steps.run_ref(context, steps.what(month)), retry=True)

    @task
    def brief(month: str) -> list[str]:
        from critmin.steps import commodity_tables as steps
        from critmin.steps.tasks import run

        return run(steps.brief, month)

    @task(**writes_warehouse)
    def release_warehouse(month: str, **context) -> str:
        from critmin.steps import commodity_tables as steps
        from critmin.steps.tasks import run

        return run(steps.release_warehouse, steps.run_ref(context, steps.what(month)), retry=True)

    month = land()
    wait_for_files >> month
    loaded = load(month, gate_raw(month)).as_setup()
    published = loaded >> transform(month) >> gate_marts(month) >> publish(month)
    published >> brief(month)
    published >> release_warehouse(month).as_teardown(setups=loaded)


commodity_tables()
