"""An embedded run's execution API serves the task SDK installed beside it, and only its newest
versions (critmin.execution_api): Airflow's own app generated all nine, seconds of every run's start."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import httpx
import pytest

from critmin.execution_api import KEPT_VERSIONS, in_process_api


@pytest.fixture
def airflows_bundle():
    """Airflow's version bundle, checked to be the module's again after each test."""
    from airflow.api_fastapi.execution_api import versions

    full = versions.bundle
    yield full
    assert versions.bundle is full, "Airflow's servers keep every version"


def test_the_in_process_app_answers_this_task_sdks_version_but_not_airflows_oldest(airflows_bundle):
    from airflow.sdk.api.datamodels._generated import API_VERSION

    api = in_process_api()
    assert api is not None, "Airflow 3.3's versions generate with the newest three"
    newest = [version.value for version in airflows_bundle.versions]
    served = [version.value for version in api.app.versions.versions]
    assert served == newest[:KEPT_VERSIONS] and served[0] == API_VERSION
    assert len(newest) > KEPT_VERSIONS, "Airflow's own app serves more than this one"

    client = httpx.Client(transport=api.transport, base_url="http://in-process.invalid./")
    answers = {
        version: client.get("health", headers={"airflow-api-version": version}).status_code
        for version in (API_VERSION, served[-1], newest[-1])
    }
    assert answers == {API_VERSION: 200, served[-1]: 200, newest[-1]: 404}


def test_versions_that_do_not_generate_alone_leave_airflows_app(airflows_bundle, caplog):
    # In Airflow 3.3.2 the newest version moved a route that only an older version restores.
    with caplog.at_level(logging.WARNING, logger="critmin.execution_api"):
        assert in_process_api(kept=2) is None
    assert "every version served, as the newest 2 did not generate alone" in caplog.text
    assert "get_previous_dagrun_compat" in caplog.text, "the message says which route"
    for change in airflows_bundle.versions[0].changes:
        assert change._bound_version_bundle is airflows_bundle, "the changes are Airflow's again"
    assert in_process_api() is not None, "and the newest three still generate afterwards"


def test_a_task_sdk_speaking_another_version_gets_airflows_app(airflows_bundle, monkeypatch):
    from airflow.sdk.api.datamodels import _generated

    monkeypatch.setattr(_generated, "API_VERSION", airflows_bundle.versions[1].value)
    assert in_process_api() is None


def test_a_new_process_hands_airflow_the_small_app_once(tmp_path):
    """What an embedded run's start does (``critmin.embedded._start``): Airflow's supervisor then
    gets the small app for every task, and priming again changes nothing."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow")
    script = """
import json
from critmin import execution_api
from airflow.sdk.execution_time import supervisor
execution_api.prime()
first = supervisor.in_process_api_server()
execution_api.prime()
print(json.dumps({
    "served": [version.value for version in first.app.versions.versions],
    "same": supervisor.in_process_api_server() is first,
}))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(seen["served"]) == KEPT_VERSIONS and seen["same"]
