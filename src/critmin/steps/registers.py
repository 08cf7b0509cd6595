"""The steps of the ``registers`` DAG: gate, load, transform, publish.

The gate validates the register files and hands the load their sha256; the load reads the files
again and refuses to load anything but what the gate validated.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING, Any

from critmin.errors import CritminError, PipelineError
from critmin.months import Month
from critmin.steps.customs_monthly import publish, run_ref
from critmin.warehouse.lease import REGISTERS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from critmin.settings import Settings
    from critmin.warehouse.lease import RunRef

log = logging.getLogger(__name__)

__all__ = ["REGISTERS", "as_of", "gate", "load", "publish", "run_ref", "transform"]


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


def load(settings: Settings, run: RunRef, validated: dict[str, Any]) -> int:
    """Take the warehouse lease, then load exactly what the gate validated: a file edited since
    fails the run."""
    from critmin.sources.registers.gate import file_digests
    from critmin.sources.registers.load import load_registers
    from critmin.sources.registers.read import read_registers
    from critmin.warehouse.lease import WarehouseLease

    registers = read_registers(settings.registers_dir)
    now = file_digests(registers)
    if now != validated["files"]:
        changed = sorted(set(now.items()) ^ set(validated["files"].items()))
        raise PipelineError(f"register files changed after validation ({changed[:3]}...): run the DAG again")
    month = Month.of(date.fromisoformat(validated["as_of"]))
    lease = WarehouseLease(settings)
    lease.acquire(run)
    try:
        loaded = load_registers(settings, registers, month, validated["results"], run_id=run.run_id)
    except BaseException:
        lease.release(run)
        raise
    lease.hold(run, "loaded")
    return loaded


def transform(settings: Settings, run: RunRef) -> None:
    """dbt build (its data tests are the registers' last gate). A failure puts the registers back
    as they were, rebuilds the marts from them and frees the lease."""
    from critmin.transform import REGISTERS, build
    from critmin.warehouse import restore_registers
    from critmin.warehouse.lease import WarehouseLease

    lease = WarehouseLease(settings)
    lease.hold(run)
    try:
        build(settings, REGISTERS)
    except CritminError:
        restore_registers(settings.paths.warehouse_db)
        try:
            build(settings)
        except CritminError:
            log.exception("rebuilding the marts after restoring the registers failed too")
        lease.release(run)
        raise
    lease.hold(run, "gated")
