"""The warehouse lease: one DAG run at a time holds the warehouse from its load to its publish.

An Airflow pool serializes tasks, not runs: between one run's load and its publish, another run (a
retry window, the other DAG, a second process in the embedded mode) could build and publish what
the first loaded but never gated. So a run takes the lease (``$CRITMIN_HOME/warehouse.lease``)
before it writes the warehouse, each of its later tasks checks it still holds it, and it lets go
only once it has published, or once a failure has put back what it loaded. Publishing therefore
only ever ships a state in which every month and register version passed its gates.

A run that dies holding the lease (killed, out of memory, its retries spent) is recovered by the
next run that needs the warehouse: what the dead run loaded is put back as it was before its
load, unless it had already published. A holder is dead when

- in the embedded mode (``Settings.single_process_runs``: each run is one process) its process is
  gone from this host;
- otherwise (Celery: a run's tasks are separate processes) its tasks have not renewed the lease
  for ``Settings.lease_ttl_seconds``.

A run that finds the lease held by a live run waits up to ``Settings.lease_wait_seconds`` (the
embedded runner waits; Airflow tasks fail at once and retry), then fails with ``WarehouseBusy``
naming the holder. The lease file is read and written under an exclusive ``flock``.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from critmin.errors import PipelineError
from critmin.warehouse.loads import last_load_run, restore_customs_month, restore_registers

if TYPE_CHECKING:
    from collections.abc import Iterator

    from critmin.settings import Settings

log = logging.getLogger(__name__)

#: A run's progress, as the lease records it: recovery puts back what a dead run loaded (its load
#: committed: ``audit.warehouse_loads`` names it) unless it reached "published".
STAGES = ("acquired", "loaded", "gated", "published")
REGISTERS = "registers"


class WarehouseBusy(PipelineError):
    """Another live run holds the warehouse: try again once it has published or failed."""


class LeaseLost(PipelineError):
    """This run no longer holds the warehouse (it was taken for dead and recovered)."""


@dataclass(frozen=True)
class RunRef:
    """Which DAG run, and what it loads: a data month ``YYYY-MM`` or ``registers``."""

    dag_id: str
    run_id: str
    what: str

    def __str__(self) -> str:
        return f"{self.dag_id} {self.what} (run {self.run_id})"


@dataclass(frozen=True)
class Holder:
    dag_id: str
    run_id: str
    what: str
    stage: str
    host: str
    pid: int
    pid_started: str | None
    single_process: bool
    acquired_at: float
    renewed_at: float

    @property
    def run(self) -> RunRef:
        return RunRef(self.dag_id, self.run_id, self.what)

    def describe(self) -> str:
        since = datetime.fromtimestamp(self.acquired_at, UTC).isoformat(timespec="seconds")
        return f"{self.run}, {self.stage}, process {self.pid} on {self.host}, since {since}"


def _process_started(pid: int) -> str | None:
    """The process's start time (Linux), to tell it from a later process given the same pid."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def process_alive(pid: int, started: str | None = None) -> bool:
    """Whether process ``pid`` runs on this host (and, given its start time, is that process)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return started is None or _process_started(pid) in (None, started)


class WarehouseLease:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.path = settings.paths.warehouse_lease

    # --- the file -------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.with_name(f".{self.path.name}.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def holder(self) -> Holder | None:
        try:
            return Holder(**json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None

    def _write(self, holder: Holder | None) -> None:
        if holder is None:
            self.path.unlink(missing_ok=True)
            return
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
        partial.write_text(json.dumps(asdict(holder), indent=2), encoding="utf-8")
        os.replace(partial, self.path)

    def _alive(self, holder: Holder) -> bool:
        if holder.single_process and holder.host == socket.gethostname():
            return process_alive(holder.pid, holder.pid_started)
        return time.time() - holder.renewed_at < self.settings.lease_ttl_seconds

    def _me(self, run: RunRef, stage: str) -> Holder:
        now = time.time()
        return Holder(
            dag_id=run.dag_id,
            run_id=run.run_id,
            what=run.what,
            stage=stage,
            host=socket.gethostname(),
            pid=os.getpid(),
            pid_started=_process_started(os.getpid()),
            single_process=self.settings.single_process_runs,
            acquired_at=now,
            renewed_at=now,
        )

    # --- what the steps call ---------------------------------------------------------------------

    def acquire(self, run: RunRef) -> None:
        """Take the lease before loading; a dead holder's load is put back first. Waits up to
        ``lease_wait_seconds`` for a live holder, then raises ``WarehouseBusy``."""
        deadline = time.monotonic() + self.settings.lease_wait_seconds
        announced = False
        while True:
            with self._locked():
                holder = self.holder()
                if holder is not None and holder.run != run and not self._alive(holder):
                    self._recover(holder)
                    holder = None
                if holder is None or holder.run == run:
                    self._write(self._me(run, "acquired"))
                    return
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"{run}: the warehouse is in use by {holder.describe()}. Nothing was loaded. "
                    "It is free once that run has published or failed: run this one again then "
                    f"(Airflow retries it). A dead holder's lease lapses after "
                    f"{self.settings.lease_ttl_seconds:.0f} s without renewal."
                )
            if not announced:
                log.warning("%s: waiting for the warehouse, in use by %s", run, holder.describe())
                announced = True
            time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))

    def hold(self, run: RunRef, stage: str | None = None) -> None:
        """Check this run still holds the lease and renew it (optionally recording its stage)."""
        with self._locked():
            holder = self.holder()
            if holder is None or holder.run != run:
                raise LeaseLost(
                    f"{run}: this run no longer holds the warehouse "
                    f"({'held by ' + holder.describe() if holder else 'nobody holds it'}): it was taken "
                    "for dead and what it loaded was put back. Run it again."
                )
            self._write(
                replace(
                    holder,
                    stage=stage or holder.stage,
                    renewed_at=time.time(),
                    pid=os.getpid(),
                    pid_started=_process_started(os.getpid()),
                )
            )

    def release(self, run: RunRef) -> None:
        with self._locked():
            holder = self.holder()
            if holder is not None and holder.run == run:
                self._write(None)

    def _recover(self, holder: Holder) -> None:
        """Put back what a dead run loaded (unless it published), then free the lease."""
        from critmin.months import Month

        db = self.settings.paths.warehouse_db
        loaded = db.exists() and last_load_run(db, holder.what) == holder.run_id
        if loaded and holder.stage != "published":
            if holder.what == REGISTERS:
                restore_registers(self.settings.paths.warehouse_db)
            else:
                restore_customs_month(self.settings.paths.warehouse_db, Month.parse(holder.what))
        log.warning(
            "recovered the warehouse from a run that died holding it (%s): %s",
            holder.describe(),
            "it had published"
            if holder.stage == "published"
            else ("what it loaded was put back" if loaded else "it had loaded nothing"),
        )
        self._write(None)
