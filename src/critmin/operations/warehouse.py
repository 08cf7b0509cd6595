"""What an operator does to the warehouse by hand: see who holds it, and free it from a run that
crashed (``critmin warehouse status``, ``critmin warehouse release --run RUN_ID``).

Release is the run's own clean-up (``WarehouseLease.put_back_and_release``) done on its behalf: it
puts back what the run loaded, unless that was published, and frees the lease. It refuses while
the run may still be working: its process is alive on this host, or Airflow says the run is still
going. So it never pulls the warehouse from under a live run, and needs no knowledge of which
step the run reached.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from critmin.errors import CritminError
from critmin.processes import process_alive
from critmin.warehouse.lease import Holder, WarehouseLease
from critmin.warehouse.loads import LoadRecord, load_records

if TYPE_CHECKING:
    from critmin.settings import Settings
    from critmin.warehouse.lease import RunState
    from critmin.warehouse.runs import RunRef

#: Airflow states of a run that may still run tasks: release refuses while the holder is in one.
ACTIVE = frozenset({"queued", "running"})


class ReleaseRefused(CritminError):
    """The run may still be working: the warehouse was left as it is."""


@dataclass(frozen=True)
class WarehouseStatus:
    holder: Holder | None
    lease_problem: str | None
    holder_dead_because: str | None
    holder_airflow_state: str | None
    unpublished: list[LoadRecord]
    serving_published_at: float | None

    def lines(self, settings: Settings) -> list[str]:
        lease = settings.paths.warehouse_lease
        if self.holder is None:
            held = f"free ({lease} is unreadable: {self.lease_problem})" if self.lease_problem else "free"
            lines = [f"warehouse lease: {held}"]
        else:
            h = self.holder
            renewed = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(h.renewed_at))
            alive = f"dead: {self.holder_dead_because}" if self.holder_dead_because else "working"
            airflow = self.holder_airflow_state or "unknown here"
            lines = [
                f"warehouse lease: held by {h.describe()}",
                f"  stage {h.stage}, last renewed {renewed}; Airflow state: {airflow}; {alive}",
            ]
            if h.took_over:
                lines.append(f"  it took over {h.took_over}")
        if self.unpublished:
            lines.append("loads not yet published (audit.loads):")
            lines.extend(f"  {record.describe()}" for record in self.unpublished)
            runs = sorted({record.run_id for record in self.unpublished})
            lines.append(
                "  each is put back by the next run that takes the warehouse; to free it from a run "
                "that crashed, now: " + "; ".join(f"critmin warehouse release --run {r}" for r in runs)
            )
        else:
            lines.append("loads not yet published: none (serving.duckdb has every load in the warehouse)")
        if self.serving_published_at is not None:
            when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.serving_published_at))
            lines.append(f"serving.duckdb: published {when}")
        else:
            lines.append("serving.duckdb: not published yet")
        return lines


def status(settings: Settings, run_state: RunState | None = None) -> WarehouseStatus:
    lease = WarehouseLease(settings, run_state)
    holder, problem = lease.read()
    db = settings.paths.warehouse_db
    unpublished = [r for r in load_records(db) if r.published_at is None] if db.exists() else []
    state = None
    if holder is not None and run_state is not None:
        try:
            state = run_state(holder.dag_id, holder.run_id)
        except Exception:
            state = None
    try:
        published_at: float | None = settings.paths.serving_db.stat().st_mtime
    except FileNotFoundError:
        published_at = None
    return WarehouseStatus(
        holder=holder,
        lease_problem=problem,
        holder_dead_because=lease.dead_because(holder) if holder is not None else None,
        holder_airflow_state=state,
        unpublished=unpublished,
        serving_published_at=published_at,
    )


def release(settings: Settings, run_id: str, run_state: RunState | None = None) -> str:
    """Free the warehouse from run ``run_id``: put back what it loaded (unless published) and
    free its lease. Refuses (``ReleaseRefused``) while the run may still be working. Returns
    what was done, in words."""
    lease = WarehouseLease(settings, run_state)
    holder, _ = lease.read()
    db = settings.paths.warehouse_db
    records = [r for r in load_records(db) if r.run_id == run_id] if db.exists() else []
    if holder is not None and holder.run_id == run_id:
        run = holder.run
        _refuse_if_working(holder, run_state)
    elif records:
        run = records[0].run
        state = _airflow_state(run, run_state)
        if state in ACTIVE:
            raise ReleaseRefused(
                f"{run} is still {state} in Airflow: it would lose the warehouse mid-run. Wait for it, "
                "or mark it failed in Airflow (its teardown then puts back what it loaded)."
            )
    else:
        who = holder.describe() if holder else "nobody"
        return f"run {run_id} holds nothing: the lease is held by {who}, and it has no load in place."
    undone = lease.put_back_and_release(run, wait_seconds=0)
    if undone:
        return f"released {run}: what it loaded ({run.what}) was put back, and the warehouse is free."
    return f"released {run}: it had nothing unpublished to put back; the warehouse is free."


def _airflow_state(run: RunRef, run_state: RunState | None) -> str | None:
    if run_state is None:
        return None
    try:
        return run_state(run.dag_id, run.run_id)
    except Exception:
        return None


def _refuse_if_working(holder: Holder, run_state: RunState | None) -> None:
    here = holder.host == socket.gethostname()
    if here and process_alive(holder.pid, holder.pid_started):
        raise ReleaseRefused(
            f"{holder.run} is working: its process {holder.pid} runs on this host. Stop it first "
            "(its clean-up then puts back what it loaded), or wait for it."
        )
    if holder.single_process:  # an embedded run is its process: gone means dead
        if not here:
            raise ReleaseRefused(f"{holder.run} runs on host {holder.host}: release it there.")
        return
    state = _airflow_state(holder.run, run_state)
    if state in ACTIVE:
        raise ReleaseRefused(
            f"{holder.run} is still {state} in Airflow: it would lose the warehouse mid-run. Wait "
            "for it, or mark it failed in Airflow (its teardown then puts back what it loaded)."
        )
    if state is None and not here:
        raise ReleaseRefused(
            f"{holder.run} holds the warehouse from host {holder.host}, and Airflow cannot be asked "
            "here whether it still runs: release it on that host (where the warehouse worker runs)."
        )
