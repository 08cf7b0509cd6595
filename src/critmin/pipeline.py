"""The steps of the ``customs_monthly`` DAG, one function per task.

The DAG file only wires these together. Each step takes the data month and reads every path from
``$CRITMIN_HOME`` (``critmin.settings.Paths``), so the same code runs under ``dag.test()`` on a laptop
and on Celery workers in production. Heavy imports (duckdb, pandas, dbt) happen inside the steps,
never when the DAG file is parsed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from critmin.errors import CritminError
from critmin.months import month_for_run
from critmin.settings import Paths

if TYPE_CHECKING:
    from collections.abc import Mapping

log = logging.getLogger(__name__)


def _fail_without_retry(error: Exception) -> None:
    """A bad input file will be just as bad on a retry: fail the task at once, with the message."""
    try:
        from airflow.sdk.exceptions import AirflowFailException
    except ImportError:  # pragma: no cover - older layouts
        from airflow.exceptions import AirflowFailException
    raise AirflowFailException(str(error)) from error


def month_from_context(context: Mapping[str, Any]) -> str:
    params = context.get("params") or {}
    return month_for_run(params.get("month"), context.get("logical_date"))


def land(month: str) -> str:
    """Land the month's downloads into the raw zone; returns the month for the next tasks.

    A file the reader refuses is quarantined with a report, and the task fails (no retry).
    """
    from critmin.gacc.exports import land_month

    paths = Paths.from_env()
    try:
        files = land_month(paths, month)
    except CritminError as error:
        _fail_without_retry(error)
    new = sum(1 for f in files if f.is_new)
    log.info("%s: %d current files (%d new or changed)", month, len(files), new)
    return month


def gate_raw(month: str) -> list[dict[str, Any]]:
    """The raw quality gate: returns the results (warnings included) for the load to record."""
    from critmin.gacc.quality import gate_raw as run_gate

    try:
        return run_gate(Paths.from_env(), month)
    except CritminError as error:
        _fail_without_retry(error)


def load(month: str, raw_results: list[dict[str, Any]] | None = None) -> int:
    from critmin.gacc.exports import load_month

    return load_month(Paths.from_env(), month, raw_results)


def _roll_back(paths: Paths, month: str) -> None:
    """Put the month's previous partition back and rebuild the marts from it."""
    from critmin.gacc.exports import restore_month
    from critmin.transform import build

    restore_month(paths, month)
    try:
        build(paths)
    except CritminError:
        log.exception("rebuilding the marts after restoring %s failed too", month)


def transform(month: str) -> None:
    """dbt build. A failure restores the month's previous partition and fails without retry: a
    retry would build the restored month and publish it as if this run had worked."""
    from critmin.transform import build

    paths = Paths.from_env()
    log.info("building the marts after loading %s", month)
    try:
        build(paths)
    except CritminError as error:
        _roll_back(paths, month)
        _fail_without_retry(error)


def gate_marts(month: str) -> list[dict[str, Any]]:
    """The mart quality gate; on success, records every result in marts.data_quality_results."""
    from critmin.gacc.quality import gate_marts as run_gate
    from critmin.quality.results import replace_results
    from critmin.transform import run_dbt
    from critmin.warehouse import connect

    paths = Paths.from_env()
    try:
        results = run_gate(paths, month)
    except CritminError as error:
        _roll_back(paths, month)
        _fail_without_retry(error)
    with connect(paths.warehouse_db) as connection:
        replace_results(connection, month, results)
    run_dbt(paths, ["build", "--select", "data_quality_results"])
    return results


def publish(what: str) -> dict[str, int]:
    """Publish the marts; ``what`` (a month, or "registers") names the run in the log."""
    from critmin.publish import publish as publish_marts

    counts = publish_marts(Paths.from_env())
    log.info("%s is published", what)
    return counts


# --- registers DAG --------------------------------------------------------------------------------


def registers_as_of(context: Mapping[str, Any]) -> str:
    """The date the registers are validated against (dates in the future are refused): the run's
    logical date, never the wall clock."""
    logical_date = context.get("logical_date")
    if logical_date is None:
        raise ValueError("the registers run has no logical date")
    return logical_date.date().isoformat()


def gate_registers(as_of: str) -> dict[str, Any]:
    from datetime import date

    from critmin.registers import gate_registers as run_gate

    try:
        shas, results = run_gate(Paths.from_env(), date.fromisoformat(as_of))
    except CritminError as error:
        _fail_without_retry(error)
    return {"as_of": as_of, "files": shas, "results": results}


def load_registers(gate: dict[str, Any]) -> int:
    """Load exactly what the gate validated: a file edited since fails the run."""
    from critmin.registers import load_registers as load
    from critmin.registers import read_registers

    registers = read_registers()
    now = {a["_file"]: a["_sha256"] for a in registers.agreements + registers.policy_events}
    if now != gate["files"]:
        changed = sorted(set(now.items()) ^ set(gate["files"].items()))
        _fail_without_retry(
            CritminError(f"register files changed after validation ({changed[:3]}...): run the DAG again")
        )
    return load(Paths.from_env(), registers, gate["as_of"][:7], gate["results"])


def transform_registers() -> None:
    from critmin.transform import build

    build(Paths.from_env())
