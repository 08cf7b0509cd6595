"""``critmin airflow``'s scheduler: Airflow's own, with the pipeline's libraries imported before
its LocalExecutor forks the worker processes.

On Linux each task runs in a process forked from one of the LocalExecutor's workers, which are
forked from the scheduler, and a task process imports what its step needs: Great Expectations for a
gate, dbt for a transform, Matplotlib for the brief. Imported in each task process, that was
seconds of every task. Imported here once, every task process starts with them in memory (shared
copy-on-write with the scheduler), as ``critmin demo``'s in-process runs do after their first.

Nothing imported here must be lost in a fork: none of these libraries starts a thread or keeps a
connection open when imported (``tests/test_local_airflow.py`` checks that no thread is started).
If an import fails, the scheduler exits with the error in its log and ``critmin airflow`` stops,
naming the log. The production shape (``docker compose``) runs ``airflow scheduler`` itself.

Usage, as ``airflow``'s command line: ``python -m critmin.scheduler scheduler --skip-serve-logs``.
"""

from __future__ import annotations

import importlib
import sys
import time

#: What task processes import that takes long (seconds in all): the gates' Great Expectations, the
#: transform's dbt and dbt-duckdb, the brief's Matplotlib, and the steps the DAG files call.
PRELOAD = (
    "airflow.sdk.execution_time.task_runner",
    "great_expectations",
    "dbt.cli.main",
    "dbt.adapters.duckdb",
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
    "critmin.steps.customs_monthly",
    "critmin.steps.commodity_tables",
    "critmin.steps.registers",
)


def preload(modules: tuple[str, ...] = PRELOAD) -> float:
    """Import ``modules``; returns the seconds it took."""
    from critmin.quality.suites import quiet_gx_logging

    quiet_gx_logging()  # as the gates do: not GX's ~200 info lines at import in the scheduler's log
    started = time.monotonic()
    for name in modules:
        importlib.import_module(name)
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> None:
    from airflow.__main__ import main as airflow_main

    seconds = preload(PRELOAD)
    print(f"critmin: imported {', '.join(PRELOAD)} for the task processes in {seconds:.1f} s", flush=True)
    sys.argv = ["airflow", *(sys.argv[1:] if argv is None else argv)]
    sys.exit(airflow_main())


if __name__ == "__main__":
    main()
