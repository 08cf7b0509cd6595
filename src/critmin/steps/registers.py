"""The steps of the ``registers`` DAG: gate, load, transform, publish.

The gate validates the register files and hands the load their sha256; the load reads the files
again and refuses to load anything but what the gate validated.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from critmin.errors import PipelineError
from critmin.months import Month
from critmin.steps.customs_monthly import publish

if TYPE_CHECKING:
    from collections.abc import Mapping

    from critmin.settings import Settings

__all__ = ["as_of", "gate", "load", "publish", "transform"]


def as_of(context: Mapping[str, Any]) -> date:
    """The date the registers are validated against (dates in the future are refused): the run's
    logical date, never the wall clock."""
    logical_date = context.get("logical_date")
    if logical_date is None:
        raise ValueError("the registers run has no logical date")
    return logical_date.date()


def gate(settings: Settings, day: date) -> dict[str, Any]:
    from critmin.sources.registers.gate import file_digests, gate_registers

    registers, results = gate_registers(settings, day)
    return {"as_of": day.isoformat(), "files": file_digests(registers), "results": results}


def load(settings: Settings, validated: dict[str, Any]) -> int:
    """Load exactly what the gate validated: a file edited since fails the run."""
    from critmin.sources.registers.gate import file_digests
    from critmin.sources.registers.load import load_registers
    from critmin.sources.registers.read import read_registers

    registers = read_registers(settings.registers_dir)
    now = file_digests(registers)
    if now != validated["files"]:
        changed = sorted(set(now.items()) ^ set(validated["files"].items()))
        raise PipelineError(f"register files changed after validation ({changed[:3]}...): run the DAG again")
    month = Month.of(date.fromisoformat(validated["as_of"]))
    return load_registers(settings, registers, month, validated["results"])


def transform(settings: Settings) -> None:
    from critmin.transform import build

    build(settings)
