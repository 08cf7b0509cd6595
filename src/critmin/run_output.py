"""A run's output in a file of its own, and the error that stopped it read back from there.

``captured(log_file)`` sends everything this process writes to stdout and stderr (Python, C
extensions, dbt, subprocesses) to ``log_file`` for the duration of a run; ``error_from_log`` finds
the last exception message in such a file, for the console's one line per run. Used by the
embedded runner (:mod:`critmin.embedded`) and the metadata set-up (:mod:`critmin.airflow_home`).
"""

from __future__ import annotations

import io
import os
import re
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


class _SwitchableStream(io.TextIOBase):
    """Stands in for ``sys.stdout``/``sys.stderr`` for the rest of the process.

    Airflow's loggers keep a reference to the stream they were created with, so the stream object
    must outlive each month's log file: it writes to the current log file while one is open, and to
    the original stream otherwise.
    """

    def __init__(self, default: TextIO, name: str) -> None:
        self.default = default
        self.name = name
        self.target: TextIO | None = None

    def _current(self) -> TextIO:
        if self.target is not None:
            return self.target
        if getattr(self.default, "closed", False):  # a test runner's capture, restored and closed
            self.default = getattr(sys, f"__{self.name}__")
        return self.default

    def write(self, text: str) -> int:
        return self._current().write(text)

    def flush(self) -> None:
        self._current().flush()

    def fileno(self) -> int:
        return self._current().fileno()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._current(), "encoding", "utf-8")


_STAND_INS: dict[str, _SwitchableStream] = {}


def switchable(name: str) -> _SwitchableStream:
    """The process's one stand-in for ``sys.<name>``, (re)installed. If something replaced
    ``sys.<name>`` since (a test runner does, between tests), the stand-in adopts the new stream as
    its default: loggers created earlier keep writing through the same stand-in."""
    current = getattr(sys, name)
    stand_in = _STAND_INS.get(name)
    if stand_in is None:
        stand_in = _STAND_INS[name] = _SwitchableStream(current, name)
    elif current is not stand_in:
        stand_in.default = current
    setattr(sys, name, stand_in)
    return stand_in


@contextmanager
def captured(log_file: Path) -> Iterator[None]:
    """Send everything written to stdout/stderr (Python, C extensions, dbt) to a file.

    Both levels are redirected: the file descriptors 1 and 2 (C extensions, subprocesses), and the
    Python streams, through a switchable stand-in that outlives the file.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    streams = switchable("stdout"), switchable("stderr")
    for stream in streams:
        stream.flush()
    saved_fds = os.dup(1), os.dup(2)
    with log_file.open("a", encoding="utf-8", errors="replace", buffering=1) as handle:
        os.dup2(handle.fileno(), 1)
        os.dup2(handle.fileno(), 2)
        for stream in streams:
            stream.target = handle
        try:
            yield
        finally:
            for stream in streams:
                stream.target = None
            try:
                handle.flush()  # fails on a full disk: the console must come back all the same
            finally:
                os.dup2(saved_fds[0], 1)
                os.dup2(saved_fds[1], 2)
                os.close(saved_fds[0])
                os.close(saved_fds[1])


_ERROR_LINE = re.compile(r"^(critmin\.errors\.\w+|airflow\.\S*AirflowFailException|\w*Error): (.*)")


def error_from_log(log_file: Path) -> str | None:
    """The last exception message in a run's log, with its continuation lines."""
    try:
        lines = log_file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    message: list[str] = []
    for index, line in enumerate(lines):
        match = _ERROR_LINE.match(line)
        if match:
            message = [match.group(2)]
            for follow in lines[index + 1 :]:
                if not follow.startswith("  ") or "File " in follow:
                    break
                message.append(follow)
    return "\n".join(message) if message else None
