"""A user's session on ``make airflow``'s UI, scripted (issue 22): for ten minutes, what the UI's
buttons send (unpause on trigger, trigger a month, clear a task, pause, unpause) while runs go and
the UI polls every second as its pages do. Four Airflow components, the runs' task processes and
the user all write the one SQLite file: no request may fail with a server error (a locked database
once gave HTTP 500 on the unpause of "unpause on trigger"), and every run triggered ends in success.

`make test-ui-session` runs it (and `.ci/run`); `make test` skips it, saying so. The session's length
is ``CRITMIN_UI_SESSION_SECONDS`` (default 600).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time

import pytest
from airflow_cluster import wait_for
from conftest import land_sample_month
from test_local_airflow import RUN_TIMEOUT, task_states, wait_for_dag
from test_local_airflow import served as served  # the fixture: `critmin airflow` on a new home

pytestmark = pytest.mark.e2e

DAG = "customs_monthly"
MONTHS = ("2025-05", "2025-06", "2025-07")
SECONDS = float(os.environ.get("CRITMIN_UI_SESSION_SECONDS", "600"))
UNFINISHED = ("queued", "running")


@pytest.fixture(scope="module")
def session_allowed():
    if os.environ.get("CRITMIN_UI_SESSION") != "1":
        pytest.skip("the ten-minute UI session is `make test-ui-session` (run by .ci/run)")


def test_ten_minutes_of_clicks_while_runs_go_get_no_server_error(session_allowed, served):  # noqa: F811
    for month in MONTHS:
        land_sample_month(served.settings.paths, month)
    api = served.api()
    wait_for_dag(api, DAG)
    errors: list[str] = []
    statuses: list[int] = []
    # The Api helper raises on an unexpected status; ask it for the status itself.
    original = api.call

    def tracked(method, path, body=None, expect=(200,)):
        try:
            answer = original(method, path, body, expect=expect)
        except RuntimeError as error:
            text = str(error)
            code = int(text.split("-> ", 1)[1].split(":", 1)[0]) if "-> " in text else 0
            statuses.append(code)
            if code >= 500:
                errors.append(text)
            raise
        statuses.append(200)
        return answer

    api.call = tracked  # type: ignore[method-assign]

    stop = threading.Event()

    def poll():  # what the grid and run pages ask for while open
        while not stop.is_set():
            for path in (
                f"/api/v2/dags/{DAG}",
                f"/api/v2/dags/{DAG}/dagRuns?order_by=-run_after&limit=10",
                "/api/v2/dags?limit=50",
                "/api/v2/pools",
            ):
                with contextlib.suppress(RuntimeError):  # noted by tracked(); a 4xx is not ours
                    api.call("GET", path)
            stop.wait(1.0)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    triggered: list[str] = []
    deadline = time.monotonic() + SECONDS
    try:
        for step in itertools.count():
            if time.monotonic() >= deadline:
                break
            month = MONTHS[step % len(MONTHS)]
            # "Unpause on trigger", then Trigger with the month in the form; as a user watching the
            # grid would, only while fewer than two of the session's runs wait or run (a run takes
            # about a minute here, one at a time in the warehouse pool).
            api.call("PATCH", f"/api/v2/dags/{DAG}", {"is_paused": False})
            active = [
                r
                for r in triggered[-3:]
                if api.call("GET", f"/api/v2/dags/{DAG}/dagRuns/{r}")["state"] in UNFINISHED
            ]
            if len(active) < 2:
                run_id = f"manual__{month}__session-{step}"
                body = {"logical_date": None, "conf": {"month": month}, "dag_run_id": run_id}
                api.call("POST", f"/api/v2/dags/{DAG}/dagRuns", body)
                triggered.append(run_id)
            time.sleep(5)
            # Clear the brief of an earlier run that has finished (it runs again).
            for earlier in triggered[-4:-1]:
                run = api.call("GET", f"/api/v2/dags/{DAG}/dagRuns/{earlier}")
                if run["state"] in ("success", "failed"):
                    api.call(
                        "POST",
                        f"/api/v2/dags/{DAG}/clearTaskInstances",
                        {
                            "dry_run": False,
                            "dag_run_id": earlier,
                            "task_ids": ["brief"],
                            "only_failed": False,
                        },
                    )
                    break
            time.sleep(5)
            # Pause for a while as runs go, then unpause.
            api.call("PATCH", f"/api/v2/dags/{DAG}", {"is_paused": True})
            time.sleep(5)
            api.call("PATCH", f"/api/v2/dags/{DAG}", {"is_paused": False})
            time.sleep(10)
    finally:
        stop.set()
        poller.join(timeout=60)

    assert not errors, errors[:5]
    assert len(triggered) >= max(1, int(SECONDS // 120)), triggered
    assert len(statuses) > 100, f"only {len(statuses)} requests: the UI was hardly used"

    def all_finished():
        states = {r: api.call("GET", f"/api/v2/dags/{DAG}/dagRuns/{r}")["state"] for r in triggered}
        return states if all(s in ("success", "failed") for s in states.values()) else None

    states = wait_for("every run the session triggered to finish", all_finished, RUN_TIMEOUT, every=5)
    failed = {run: task_states(api, DAG, run) for run, state in states.items() if state != "success"}
    assert not failed, failed
    assert not errors, errors[:5]
    for component in ("api-server", "scheduler", "dag-processor", "triggerer"):
        log = served.home / "logs" / "airflow" / f"{component}.log"
        assert "database is locked" not in log.read_text(encoding="utf-8", errors="replace"), component
