"""A commodity_tables run that loads its release month, then waits to be killed (test_commodity_tables).

Apart from the test modules so the process it runs in imports only the pipeline (forked warm from
a server that has already imported it, as an Airflow worker's task process starts)."""

from __future__ import annotations

import time
import traceback
from pathlib import Path

from critmin.settings import Settings
from critmin.steps import commodity_tables as steps
from critmin.warehouse import RunRef

PRELOAD = ["critmin.steps.commodity_tables", "critmin.warehouse.lease", "great_expectations"]


def load_then_wait(home: str, month: str, marker: str) -> None:
    try:
        settings = Settings.for_home(Path(home), single_process_runs=True)
        run = RunRef("commodity_tables", "killed-" + month, steps.what(month))
        steps.land(settings, month)
        steps.load(settings, run, month, steps.gate_raw(settings, month))
        Path(marker).write_text("loaded", encoding="utf-8")
        time.sleep(600)
    except BaseException:
        Path(f"{marker}.error").write_text(traceback.format_exc(), encoding="utf-8")
        raise
