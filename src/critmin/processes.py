"""Processes on this machine: whether one is alive (and is the one we mean), and which descend from
which. Airflow starts each task in a process group of its own, below its worker's, so stopping a
worker's group leaves its tasks running: whoever stops Airflow's processes (``make airflow``, the
distributed test's cluster) stops every descendant it saw too. Used by the package and the tests.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


#: The states (/proc/<pid>/stat) of a process that has ended: a zombie is one its parent has not
#: reaped yet. Signals still reach its pid, but it runs nothing and holds nothing.
ENDED = ("Z", "X")


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command's name (state first), or None (gone, or no
    /proc)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start(fields: list[str] | None) -> str | None:
    return fields[19] if fields and len(fields) > 19 else None


def process_started(pid: int) -> str | None:
    """The process's start time (Linux), to tell it from a later process given the same pid."""
    return _start(_stat(pid))


def process_alive(pid: int, started: str | None = None) -> bool:
    """Whether process ``pid`` runs on this host (and, given its start time, is that process). A
    zombie does not run."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    fields = _stat(pid)
    if fields and fields[0] in ENDED:
        return False
    return started is None or _start(fields) in (None, started)


def group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` still runs (its zombies aside)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    table = process_table()
    if table is None or os.getpgrp() == pgid:  # no /proc: the signal's word; or this process's group
        return True
    return any(proc.group == pgid and proc.running for proc in table.values())


@dataclass(frozen=True)
class Proc:
    parent: int
    group: int
    state: str
    start: str

    @property
    def running(self) -> bool:
        return self.state not in ENDED


def process_table() -> dict[int, Proc] | None:
    """Every process of the machine but this one (parent, group, state, start time), or None
    without /proc."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    table = {}
    for entry in proc.iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            fields = _stat(int(entry.name))
            if fields is None:
                continue  # gone meanwhile
            table[int(entry.name)] = Proc(int(fields[1]), int(fields[2]), fields[0], fields[19])
    return table


def descendants(table: Mapping[int, Proc], roots: Iterable[int]) -> set[int]:
    """``roots`` (those still in ``table``) and every process below them."""
    children: dict[int, list[int]] = {}
    for pid, proc in table.items():
        children.setdefault(proc.parent, []).append(pid)
    found: set[int] = set()
    todo = [pid for pid in roots if pid in table]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def tree(groups: Iterable[int]) -> dict[int, str]:
    """Every live process in the process groups ``groups`` or below one of their members, with its
    start time: what stopping those groups must stop (seen before signalling, while parents live)."""
    table = process_table() or {}
    groups = set(groups)
    members = {pid for pid, proc in table.items() if proc.group in groups}
    return {pid: table[pid].start for pid in descendants(table, members | groups) if table[pid].running}


def signal_tree(groups: Iterable[int], known: Mapping[int, str], signum: int) -> None:
    """Send ``signum`` to the process groups and to each known process still the one seen."""
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signum)
    for pid, started in known.items():
        if process_alive(pid, started):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signum)


def kill_tree(groups: Iterable[int]) -> dict[int, str]:
    """SIGKILL the process groups and everything below them at once (a machine lost); returns what
    was killed."""
    groups = list(groups)
    known = tree(groups)
    signal_tree(groups, known, signal.SIGKILL)
    return known


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:160]
    except OSError:
        return "(process group)"
