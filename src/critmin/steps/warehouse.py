"""What every DAG that writes the warehouse does the same way: take the warehouse for a load, keep
it, publish, and let go of it (putting back what the run loaded when it will not publish).

``release_warehouse`` is the one clean-up of both DAGs. It runs as each DAG's teardown task, so it
runs however the run ends (a gate refusing the month, a task whose retries ran out, a run an
operator marked failed); a failing step calls it too, at once. It is harmless to run twice and
cannot undo another run's load or a published one (``critmin.warehouse.loads.put_back``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from critmin.settings import Settings
    from critmin.warehouse import RunRef
    from critmin.warehouse.lease import RunState

log = logging.getLogger(__name__)


def run_ref(context: Mapping[str, Any], what: object) -> RunRef:
    """This DAG run, as the warehouse lease and the record of loads know it."""
    from critmin.warehouse import RunRef

    return RunRef(context["dag"].dag_id, str(context["run_id"]), str(what))


def airflow_run_state(context: Mapping[str, Any]) -> RunState | None:
    """How a task asks Airflow for another DAG run's state (its task instance's
    ``get_dagrun_state``), so a lease held by a run that has ended is taken at once."""
    ti = context.get("ti")
    ask = getattr(ti, "get_dagrun_state", None)
    if ask is None:
        return None

    def state(dag_id: str, run_id: str) -> str | None:
        found = ask(dag_id=dag_id, run_id=run_id)
        return str(getattr(found, "value", found)).lower() if found is not None else None

    return state


def take_and_load(
    settings: Settings, run: RunRef, load: Callable[[], int], run_state: RunState | None = None
) -> int:
    """Take the warehouse lease (putting back what runs that no longer hold it loaded), then
    ``load()``. The lease is held until this run publishes, or puts back what it loaded."""
    from critmin.warehouse.lease import WarehouseLease

    lease = WarehouseLease(settings, run_state)
    lease.acquire(run)
    try:
        loaded = load()
    except BaseException:
        lease.release(run)  # the load rolled back: nothing of it is in the warehouse
        raise
    lease.hold(run, "loaded")
    return loaded


def keep(settings: Settings, run: RunRef, stage: str | None = None) -> None:
    """Check this run still holds the warehouse, and renew its lease."""
    from critmin.warehouse.lease import WarehouseLease

    WarehouseLease(settings).hold(run, stage)


def give_up(settings: Settings, run: RunRef) -> bool:
    """A step failed for good: put back what this run loaded and free the warehouse."""
    from critmin.warehouse.lease import WarehouseLease

    undone = WarehouseLease(settings).put_back_and_release(run)
    if undone:
        log.warning("%s: what this run loaded was put back; nothing of it was published", run)
    return undone


def publish(settings: Settings, run: RunRef) -> dict[str, int]:
    """Publish the marts (a new serving.duckdb, renamed into place), then free the lease."""
    from critmin.publish import publish as publish_marts
    from critmin.warehouse.lease import WarehouseLease

    lease = WarehouseLease(settings)
    lease.hold(run)
    counts = publish_marts(settings.paths, run, before_swap=lambda: lease.hold(run, "publishing"))
    lease.release(run)
    return counts


def release_warehouse(settings: Settings, run: RunRef) -> str:
    """The teardown: free the warehouse whatever happened to the run, and render the run's Data
    Docs pages (once per run, or once at the end of the embedded runner's months). Returns what it did."""
    from critmin.quality.gate import publish_docs
    from critmin.warehouse.lease import WarehouseLease

    publish_docs(settings, teardown=True)
    lease = WarehouseLease(settings)
    undone = lease.put_back_and_release(run)
    if undone:
        outcome = f"{run} did not publish: what it loaded was put back and the warehouse freed"
        log.warning("%s", outcome)
    else:
        outcome = f"{run}: nothing to put back (published, never loaded, or already put back)"
        log.info("%s", outcome)
    return outcome
