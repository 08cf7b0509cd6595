"""``critmin.processes``: whether a process or a process group still runs. The warehouse lease asks
it whether a run's holder died, and ``make airflow`` and the distributed test whether what they
stopped has gone. A zombie (dead, not yet reaped by its parent) still answers signals, yet runs
and holds nothing: it counts as ended."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from critmin.processes import group_alive, process_alive, process_started

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def _until_zombie(process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while _state(process.pid) != "Z":
        assert time.monotonic() < deadline, f"process {process.pid} did not end within {timeout} s"
        time.sleep(0.05)


def test_a_running_process_and_its_group_are_alive_and_known_by_their_start():
    sleeper = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        started = process_started(sleeper.pid)
        assert started is not None
        assert process_alive(sleeper.pid) and process_alive(sleeper.pid, started)
        assert not process_alive(sleeper.pid, "1"), "another process that was given the same pid"
        assert group_alive(sleeper.pid)
    finally:
        sleeper.kill()
        sleeper.wait(30)
    assert not process_alive(sleeper.pid) and not group_alive(sleeper.pid)


def test_a_zombie_and_a_group_of_zombies_have_ended():
    ended = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    try:
        _until_zombie(ended)
        os.kill(ended.pid, 0)  # signals still reach it: the check must not stop there
        os.killpg(ended.pid, 0)
        assert not process_alive(ended.pid)
        assert not group_alive(ended.pid)
    finally:
        ended.wait(30)


def test_this_process_group_is_alive():
    assert group_alive(os.getpgrp())
