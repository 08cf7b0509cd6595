"""The steps of the ``registers`` DAG: gate, load, transform, publish, and the teardown
release_warehouse (``critmin.steps.warehouse``).

The gate validates the register files and hands the load their sha256; the load reads the files
again and refuses to load anything but what the gate validated.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING, Any

from critmin.errors import CritminError, PipelineError
from critmin.months import Month
from critmin.steps.warehouse import airflow_run_state, publish, release_warehouse, run_ref
from critmin.warehouse.runs import REGISTERS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from critmin.settings import Settings
    from critmin.warehouse import RunRef
    from critmin.warehouse.lease import RunState

log = logging.getLogger(__name__)

__all__ = [
    "REGISTERS",
    "airflow_run_state",
    "as_of",
    "gate",
    "load",
    "publish",
    "release_warehouse",
    "run_ref",
    "transform",
]


def as_of(context: Mapping[str, Any]) -> date:
    """The date the registers are validated against (dates in the future are refused): the run's
    logical date, or, for a run triggered without one (``airflow dags trigger``, the REST API),
    the moment it was triggered to run (``run_after``). Never the wall clock."""
    moment = context.get("logical_date") or getattr(context.get("dag_run"), "run_after", None)
    if moment is None:
        raise ValueError("the registers run has neither a logical date nor a run_after")
    return moment.date()


def gate(settings: Settings, day: date) -> dict[str, Any]:
    from critmin.sources.registers.gate import file_digests, gate_registers

    registers, results = gate_registers(settings, day)
    return {"as_of": day.isoformat(), "files": file_digests(registers), "results": results}


def load(
    settings: Settings, run: RunRef, validated: dict[str, Any], run_state: RunState | None = None
) -> int:
    """Take the warehouse lease, then load exactly what the gate validated: a file edited since
    fails the run."""
    from critmin.sources.registers.gate import file_digests
    from critmin.sources.registers.load import load_registers
    from critmin.sources.registers.read import read_registers
    from critmin.steps.warehouse import take_and_load

    registers = read_registers(settings.registers_dir)
    now = file_digests(registers)
    if now != validated["files"]:
        changed = sorted(set(now.items()) ^ set(validated["files"].items()))
        raise PipelineError(f"register files changed after validation ({changed[:3]}...): run the DAG again")
    month = Month.of(date.fromisoformat(validated["as_of"]))
    return take_and_load(
        settings,
        run,
        lambda: load_registers(settings, registers, month, validated["results"], run=run),
        run_state,
    )


def transform(settings: Settings, run: RunRef) -> None:
    """dbt build, whose data tests are the registers' last gate: on success the load is recorded
    as gated; a failure puts back what this run loaded (the register tables, their results and the
    agreements snapshot) and frees the warehouse."""
    from critmin.steps.warehouse import give_up, keep
    from critmin.transform import REGISTERS, build
    from critmin.warehouse import WarehouseLocked, mark_gated

    keep(settings, run)
    try:
        build(settings, REGISTERS)
    except WarehouseLocked:
        raise  # another process has the file open: retried, still holding the warehouse
    except CritminError:
        give_up(settings, run)
        raise
    mark_gated(settings.paths.warehouse_db, run)
    keep(settings, run, "gated")
