"""
### registers

The curated registers in `data/registers/` (mineral agreements, export-control events, USD rates),
reviewed like code: validated, loaded and published daily, so an edit merged today is served
tomorrow (trigger the DAG to publish at once).

1. **gate**: the Great Expectations suites `expectations/register_*.json` (required fields, ISO
   country and currency codes, non-negative amounts, dates not in the future, sources, element
   symbols). A malformed YAML file or a critical failure fails the run naming the file and rule.
2. **load**: replace the `raw.register_*` tables, in one transaction, with exactly the files the gate
   validated.
3. **transform**: `dbt build`, including the snapshot that keeps every earlier version of an agreement.
4. **publish**: write a new `serving.duckdb` and rename it into place. Its success updates the
   asset `critmin_served_marts`, as `customs_monthly`'s publish does.
5. **release_warehouse** (teardown of `load`): however the run ends, what it loaded is put back
   unless it was published (the register tables, their results, the agreements snapshot), and the
   warehouse lease is freed.

load, transform and publish share the one-slot pool `critmin_warehouse` with `customs_monthly`: the
two DAGs never write the warehouse at the same time. Logic lives in `critmin.steps.registers` and
`critmin.sources.registers`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, dag, task

from critmin.alerts import on_failure
from critmin.settings import (
    LOAD_RETRIES,
    LOAD_RETRY_DELAY,
    SERVED_MARTS_ASSET,
    SERVED_MARTS_URI,
    WAREHOUSE_POOL,
    WAREHOUSE_QUEUE,
    task_retry_delay,
)

writes_warehouse = {"pool": WAREHOUSE_POOL, "queue": WAREHOUSE_QUEUE}
served_marts = Asset(name=SERVED_MARTS_ASSET, uri=SERVED_MARTS_URI)


@dag(
    dag_id="registers",
    schedule="@daily",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "critmin",
        "retries": 2,
        "retry_delay": task_retry_delay(),
        # A task that fails for good (retries run out) alerts whoever CRITMIN_ALERT_EMAIL names.
        "on_failure_callback": on_failure,
    },
    tags=["critmin", "registers", "agreements"],
    doc_md=__doc__,
)
def registers():
    @task
    def gate(**context) -> dict:
        from critmin.steps import registers as steps
        from critmin.steps.tasks import run

        return run(steps.gate, steps.as_of(context))

    # The warehouse may be in use by a month's run until it publishes: the load waits as long as
    # customs_monthly's does (see LOAD_RETRIES).
    @task(**writes_warehouse, retries=LOAD_RETRIES, retry_delay=LOAD_RETRY_DELAY)
    def load(validated: dict, **context) -> int:
        from critmin.steps import registers as steps
        from critmin.steps.tasks import run

        run_ref = steps.run_ref(context, steps.REGISTERS)
        return run(steps.load, run_ref, validated, steps.airflow_run_state(context), retry=True)

    @task(**writes_warehouse)
    def transform(**context) -> None:
        from critmin.steps import registers as steps
        from critmin.steps.tasks import run

        run(steps.transform, steps.run_ref(context, steps.REGISTERS))

    @task(**writes_warehouse, outlets=[served_marts])
    def publish(**context) -> dict[str, int]:
        from critmin.steps import registers as steps
        from critmin.steps.tasks import run

        return run(steps.publish, steps.run_ref(context, steps.REGISTERS), retry=True)

    @task(**writes_warehouse)
    def release_warehouse(**context) -> str:
        from critmin.steps import registers as steps
        from critmin.steps.tasks import run

        return run(steps.release_warehouse, steps.run_ref(context, steps.REGISTERS), retry=True)

    loaded = load(gate()).as_setup()
    published = loaded >> transform() >> publish()
    published >> release_warehouse().as_teardown(setups=loaded)


registers()
