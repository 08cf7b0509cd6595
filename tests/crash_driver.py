"""A customs run that freezes after a given step, to be killed there (test_integrity).

It lives apart from the test modules so that the process it runs in imports only the pipeline:
``test_integrity`` forks it from a server that has already imported the pipeline's heavy
dependencies, as an Airflow worker's task process starts warm.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path

from critmin import publish
from critmin.settings import Settings
from critmin.steps import customs_monthly as steps
from critmin.warehouse.lease import RunRef

#: What the server imports once, before it forks a run.
PRELOAD = [
    "critmin.steps.customs_monthly",
    "critmin.publish",
    "critmin.warehouse.lease",
    "great_expectations",
    "dbt.cli.main",
]


def run_until_killed(home: str, month: str, crash_after: str, marker: str) -> None:
    """Runs ``month`` through the steps in the DAG's order and, after ``crash_after``, writes
    ``marker`` and sleeps (to be killed): what a SIGKILL leaves at that step, with all of the step's
    effects done. ``swapped`` is inside publish: serving.duckdb renamed into place, the record of
    the publish not yet written. A failure before that is written to ``marker``.error."""
    try:
        settings = Settings.for_home(Path(home), single_process_runs=True)
        run = RunRef("customs_monthly", "killed-" + month, month)

        def reached(step: str) -> None:
            if step == crash_after:
                Path(marker).write_text(step, encoding="utf-8")
                time.sleep(600)

        real_mark_published = publish.mark_published

        def swapped_then_published(*args):
            reached("swapped")
            real_mark_published(*args)

        publish.mark_published = swapped_then_published

        steps.land(settings, month)
        reached("land")
        results = steps.gate_raw(settings, month)
        reached("gate_raw")
        steps.load(settings, run, month, results)
        reached("load")
        steps.transform(settings, run, month)
        reached("transform")
        steps.gate_marts(settings, run, month)
        reached("gate_marts")
        steps.publish(settings, run)
        reached("publish")
    except BaseException:
        Path(f"{marker}.error").write_text(traceback.format_exc(), encoding="utf-8")
        raise
