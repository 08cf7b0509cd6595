"""The warehouse lease: one DAG run at a time holds the warehouse from its load to its publish.

An Airflow pool serializes tasks, not runs: between one run's load and its publish, another run (a
retry window, the other DAG, a second process in the embedded mode) could build and publish what
the first loaded but never gated. So a run takes the lease (``$CRITMIN_HOME/warehouse.lease``)
before it writes the warehouse, each of its later tasks checks it still holds it, and it lets go
once it has published, or once what it loaded has been put back.

The lease file is only the lock. What must be undone is the warehouse's own record
(``audit.loads``, written in each load's transaction; see ``critmin.warehouse.loads``), and
publishing checks that record, not this file. So an operator deleting the file, a backup restoring
an old one or a full disk leaving it unreadable can make a run fail, never make ungated data
publishable:

- taking the lease puts back every unpublished load of any other run (only the holder may have
  one), after settling a publish that was stopped between its swap and its record;
- a run that finds the file gone or unreadable keeps the warehouse if its own load is still the
  one in place (nobody took over), and otherwise fails saying so;
- publishing refuses while any load is neither published nor gated by the publishing run.

A holder is dead when its DAG run has finished in Airflow (``run_state``, when the caller can ask
Airflow), when, in the embedded mode (each run is one process), its process is gone, or when none of
its tasks has renewed the lease for ``Settings.lease_ttl_seconds`` (a holder Airflow cannot see).
A run that finds a live holder waits up to ``Settings.lease_wait_seconds``, then fails with
``WarehouseBusy`` naming the holder, since when, and the command that frees the warehouse.

The lock around reading and writing the file is an exclusive ``flock`` on ``$CRITMIN_HOME`` itself,
which nobody deletes by accident.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from critmin.errors import PipelineError
from critmin.files import file_identity
from critmin.processes import process_alive, process_started
from critmin.warehouse.connection import WarehouseLocked
from critmin.warehouse.loads import (
    load_records,
    put_back,
    settle_publishing,
    unpublished_loads,
)
from critmin.warehouse.runs import RunRef

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from critmin.settings import Settings

    #: Asks Airflow for a DAG run's state: (dag_id, run_id) -> "running", "failed", ... or None.
    RunState = Callable[[str, str], str | None]

log = logging.getLogger(__name__)

#: A run's progress, as the lease shows it (``critmin warehouse status``); the warehouse's record of
#: loads, not this, decides what is put back.
STAGES = ("acquired", "loaded", "gated", "published")
#: Airflow's DAG run states of a run that will run no more task: its lease is free to take.
FINISHED = frozenset({"success", "failed"})


class WarehouseBusy(PipelineError):
    """Another live run holds the warehouse: try again once it has published or failed."""


class LeaseLost(PipelineError):
    """This run no longer holds the warehouse: another run took it over."""


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
    #: How the holder got the lease when it was not free: whose lapsed lease, or a missing file.
    took_over: str | None = None

    @property
    def run(self) -> RunRef:
        return RunRef(self.dag_id, self.run_id, self.what)

    def describe(self) -> str:
        return f"{self.run}, {self.stage}, process {self.pid} on {self.host}, since {_when(self.acquired_at)}"


def _when(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def release_command(run: RunRef) -> str:
    """What an operator types to free the warehouse from ``run`` (once its process is gone)."""
    return f"critmin warehouse release --run {run.run_id}"


class WarehouseLease:
    def __init__(self, settings: Settings, run_state: RunState | None = None) -> None:
        self.settings = settings
        self.path = settings.paths.warehouse_lease
        #: Asks Airflow whether a holder's DAG run has finished (Celery, where tasks can ask it).
        self.run_state = run_state

    # --- the file -------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        home = self.path.parent
        home.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(home, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # releases the lock

    def read(self) -> tuple[Holder | None, str | None]:
        """The holder, and why the file could not be read (None when it could, or is absent)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None, None
        except OSError as error:
            return None, f"it cannot be read ({error.strerror})"
        try:
            data = json.loads(raw.decode("utf-8"))
            known = {f.name for f in fields(Holder)}
            if not isinstance(data, dict):
                raise TypeError("not a JSON object")
            return Holder(**{k: v for k, v in data.items() if k in known}), None
        except (UnicodeDecodeError, ValueError, TypeError) as error:
            reason = (
                "it is not UTF-8" if isinstance(error, UnicodeDecodeError) else f"it is not a lease ({error})"
            )
            return None, f"{reason}: {raw[:40]!r}{'...' if len(raw) > 40 else ''}"

    def holder(self) -> Holder | None:
        holder, problem = self.read()
        if problem:
            log.warning(
                "%s is unreadable (%s): it is treated as no lease; the warehouse's record of loads "
                "decides what is put back",
                self.path,
                problem,
            )
        return holder

    def _write(self, holder: Holder | None) -> None:
        if holder is None:
            self.path.unlink(missing_ok=True)
            return
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
        try:
            partial.write_text(json.dumps(asdict(holder), indent=2), encoding="utf-8")
            os.replace(partial, self.path)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise PipelineError(
                f"cannot write the warehouse lease {self.path} ({error.strerror}): nothing was "
                "loaded or published. Free disk space in $CRITMIN_HOME and run it again."
            ) from error

    def dead_because(self, holder: Holder) -> str | None:
        """Why ``holder`` is dead (its lease may be taken), or None while it may still be working."""
        if self.run_state is not None:
            try:
                state = self.run_state(holder.dag_id, holder.run_id)
            except Exception as error:  # Airflow could not say: judge by the other signs
                if "not_found" in str(error) or "404" in str(error):
                    return "Airflow has no such DAG run (it was deleted)"
                log.info("could not ask Airflow for the state of %s: %s", holder.run, error)
            else:
                if state in FINISHED:
                    return f"its DAG run has ended ({state})"
        if holder.single_process and holder.host == socket.gethostname():
            if not process_alive(holder.pid, holder.pid_started):
                return f"its process {holder.pid} is gone"
            return None
        idle = time.time() - holder.renewed_at
        if idle >= self.settings.lease_ttl_seconds:
            return f"none of its tasks has renewed the lease for {idle:.0f} s"
        return None

    def _me(self, run: RunRef, stage: str, took_over: str | None = None) -> Holder:
        now = time.time()
        return Holder(
            dag_id=run.dag_id,
            run_id=run.run_id,
            what=run.what,
            stage=stage,
            host=socket.gethostname(),
            pid=os.getpid(),
            pid_started=process_started(os.getpid()),
            single_process=self.settings.single_process_runs,
            acquired_at=now,
            renewed_at=now,
            took_over=took_over,
        )

    # --- what the steps call ---------------------------------------------------------------------

    def acquire(self, run: RunRef) -> None:
        """Take the lease before loading, then put back every unpublished load of another run.
        Waits up to ``lease_wait_seconds`` for a live holder, then raises ``WarehouseBusy``."""
        deadline = time.monotonic() + self.settings.lease_wait_seconds
        announced = False
        while True:
            busy: str | None = None
            with self._locked():
                holder, problem = self.read()
                dead = None if holder is None or holder.run == run else self.dead_because(holder)
                if holder is not None and holder.run != run and dead is None:
                    busy = self.busy_message(run, holder)
                else:
                    took_over = None
                    if holder is not None and holder.run != run:
                        took_over = f"the lease of {holder.describe()}, taken because {dead}"
                    elif problem:
                        took_over = f"an unreadable {self.path.name} ({problem})"
                    self._write(self._me(run, "acquired", took_over))
            if busy is None:
                try:
                    self.recover(run)
                    return
                except WarehouseLocked as error:  # a process without the lease has the file open
                    self.release(run)
                    busy = f"{run}: {error}"
                except BaseException:
                    self.release(run)
                    raise
            if time.monotonic() >= deadline:
                raise WarehouseBusy(busy)
            if not announced:
                log.warning("%s: waiting for the warehouse: %s", run, busy)
                announced = True
            time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))

    def busy_message(self, run: RunRef, holder: Holder) -> str:
        renewed = f"last renewed {_when(holder.renewed_at)}"
        return (
            f"{run}: the warehouse is in use by {holder.describe()} ({renewed}). Nothing was loaded. "
            "It is free once that run has published or put back what it loaded, or has ended. "
            f"If that run's process is gone for good (a crashed worker), free it now with "
            f"`{release_command(holder.run)}` (`make warehouse-release RUN={holder.run_id}`); "
            f"otherwise it lapses {self.settings.lease_ttl_seconds:.0f} s after its last renewal."
        )

    def recover(self, run: RunRef) -> list[RunRef]:
        """As the lease holder: finish the record of a publish stopped after its swap, then put
        back every unpublished load of any run but ``run``. Returns the runs put back."""
        db = self.settings.paths.warehouse_db
        if not db.exists():
            return []
        for record in settle_publishing(db, file_identity(self.settings.paths.serving_db)):
            log.warning(
                "%s had been published by %s, which stopped before recording it: recorded now",
                record.what,
                record.run,
            )
        undone = []
        for record in unpublished_loads(db):
            if record.is_by(run):
                continue  # this run's own load, from an earlier try of its load task
            if put_back(db, record.run):
                undone.append(record.run)
                log.warning(
                    "recovered the warehouse from %s, which no longer holds it: what it loaded "
                    "(%s) had not been published, and was put back",
                    record.run,
                    record.describe(),
                )
        return undone

    def hold(self, run: RunRef, stage: str | None = None) -> None:
        """Check this run still holds the lease and renew it (optionally recording its stage).

        If the lease file is gone or unreadable, the run keeps the warehouse when its load is
        still the one in place (nobody took over meanwhile), and rewrites the file."""
        with self._locked():
            holder, problem = self.read()
            if holder is not None and holder.run == run:
                self._write(
                    replace(
                        holder,
                        stage=stage or holder.stage,
                        renewed_at=time.time(),
                        pid=os.getpid(),
                        pid_started=process_started(os.getpid()),
                    )
                )
                return
            if holder is None:
                gone = f"{self.path} is unreadable ({problem})" if problem else f"{self.path} disappeared"
                if self._load_in_place(run):
                    log.warning(
                        "%s: %s while this run held the warehouse; this run's load of %s is still the "
                        "one in place, so the run keeps the warehouse and rewrites the lease",
                        run,
                        gone,
                        run.what,
                    )
                    self._write(self._me(run, stage or "loaded", took_over=f"its own lease ({gone})"))
                    return
                raise LeaseLost(
                    f"{run}: {gone} while this run held the warehouse, and the warehouse no longer "
                    f"holds this run's load of {run.what}: another run took the warehouse over and put "
                    "it back. Nothing of this run was published. Run it again."
                )
            how = holder.took_over or "a lease it found free"
            raise LeaseLost(
                f"{run}: this run no longer holds the warehouse: {holder.describe()} took it over "
                f"(from {how}). That run puts back what this run loaded, which was never published. "
                "Run this one again."
            )

    def _load_in_place(self, run: RunRef) -> bool:
        db = self.settings.paths.warehouse_db
        if not db.exists():
            return False
        return any(r.is_by(run) and r.published_at is None for r in load_records(db))

    def release(self, run: RunRef) -> bool:
        """Let go of the lease if ``run`` holds it. Returns whether it did."""
        with self._locked():
            holder, _ = self.read()
            if holder is not None and holder.run == run:
                self._write(None)
                return True
        return False

    def put_back_and_release(self, run: RunRef, wait_seconds: float = 120.0) -> bool:
        """The one clean-up of a run that will not publish (both DAGs, every way a run ends): put
        back what it loaded, unless that was published or another run has taken it over, then
        free the lease if the run holds it. Returns whether anything was put back.

        A task of the run that was stopped (an operator marked the run failed) may still be dying
        on this host: its process, the last to renew the lease, is waited for first (up to
        ``wait_seconds``), so no publish of it can land after the put-back."""
        self._wait_for_previous_task(run, wait_seconds)
        db = self.settings.paths.warehouse_db
        if db.exists():
            settle_publishing(db, file_identity(self.settings.paths.serving_db))
        undone = db.exists() and put_back(db, run)
        self.release(run)
        return undone

    def _wait_for_previous_task(self, run: RunRef, wait_seconds: float) -> None:
        holder, _ = self.read()
        if holder is None or holder.run != run or holder.host != socket.gethostname():
            return
        if holder.pid == os.getpid():
            return
        deadline = time.monotonic() + wait_seconds
        while process_alive(holder.pid, holder.pid_started):
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"{run}: its task process {holder.pid} still runs after {wait_seconds:.0f} s; "
                    "what it loaded is put back once it has stopped (this task is retried)."
                )
            time.sleep(0.2)
