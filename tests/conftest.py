"""Test set-up: every test session gets its own Airflow metadata DB and never touches ./warehouse.

The Airflow settings are environment variables read when ``airflow`` is first imported, so they are
set here, before any test imports it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SESSION_DIR = Path(tempfile.mkdtemp(prefix="critmin-tests-"))

os.environ["AIRFLOW_HOME"] = str(SESSION_DIR / "airflow")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{SESSION_DIR / 'airflow' / 'airflow.db'}"
os.environ["CRITMIN_HOME"] = str(SESSION_DIR / "default-home")
os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"

SAMPLE_LANDING = REPO / "data" / "sample" / "landing"
FORMAT_SAMPLES = REPO / "tests" / "fixtures" / "gacc_format_samples"
PUBLISHED = REPO / "data" / "reference" / "published_magnet_exports.csv"
PARTNER_CODES = {"WORLD": "000", "US": "502", "DE": "304", "KR": "133", "VN": "141", "JP": "116"}


#: Test files by running time, longest first. `make test` (pytest -n 2 --dist loadfile
#: --no-loadscope-reorder) hands files to the two workers in collection order, so the longest start
#: first and neither worker is left with a long file at the end. The rest keep their order.
SLOWEST_FIRST = ("test_integrity.py", "test_end_to_end.py", "test_quality_gates.py", "test_transform.py")


def pytest_collection_modifyitems(session, config, items):
    rank = {name: position for position, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: a file stays together


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(SESSION_DIR, ignore_errors=True)


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Settings with a fresh, empty $CRITMIN_HOME for one test."""
    from critmin.settings import Settings

    home = tmp_path / "home"
    monkeypatch.setenv("CRITMIN_HOME", str(home))
    return Settings.from_env()


@pytest.fixture
def paths(settings):
    """The layout of the test's $CRITMIN_HOME."""
    return settings.paths


def copy_home(source: Path, target: Path, *leave_out: str) -> Path:
    """A private copy of a home for one test, without DuckDB's write-ahead logs (``*.wal``: a home
    is copied closed, and a closed home has none) nor the ``leave_out`` patterns; returns ``target``."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.wal", *leave_out))
    return target


def copy_dbt_project(target: Path) -> Path:
    """A copy of the repository's dbt project (without dbt's ``target/`` and ``logs/``), for a test
    that changes it; returns ``target``."""
    shutil.copytree(REPO / "dbt_project", target, ignore=shutil.ignore_patterns("target", "logs"))
    return target


def settings_for(paths):
    """The settings of a home given by its layout (code-side folders from the repository)."""
    from critmin.settings import Settings

    return Settings.for_home(paths.home)


def published_figures() -> dict[tuple[str, str], Decimal]:
    """(month, GACC partner code) -> published tonnes, from the reference table."""
    with PUBLISHED.open(encoding="utf-8", newline="") as handle:
        return {
            (row["month"], PARTNER_CODES[row["destination"]]): Decimal(row["quantity_t"])
            for row in csv.DictReader(handle)
            if row["hs8_code"] == "85051110"
        }


def land_sample_month(paths, month: str) -> Path:
    """Copy one sample month's downloads into the landing folder of ``paths``."""
    source = SAMPLE_LANDING / "gacc" / "export" / month
    target = paths.landing_dir("gacc/export", month)
    shutil.copytree(source, target, dirs_exist_ok=True)
    return target


def stored_results(gx_dir: Path) -> dict:
    """Each validation stored under ``gx_dir`` (by run name): its success, statistics, and each
    expectation's (success, result, kwargs) by rule (a GX checkpoint stores them in its own order,
    not the suite's)."""
    found = {}
    for path in sorted((gx_dir / "validations").rglob("*.json")):
        stored = json.loads(path.read_text())
        found[stored["meta"]["run_id"]["run_name"]] = (
            stored["success"],
            stored["statistics"],
            {
                r["expectation_config"]["meta"]["rule"]: (
                    r["success"],
                    r["result"],
                    r["expectation_config"]["kwargs"],
                )
                for r in stored["results"]
            },
        )
    return found


def sample_months() -> list[str]:
    return sorted(p.name for p in (SAMPLE_LANDING / "gacc" / "export").iterdir() if p.is_dir())


def run_customs_steps(settings, month: str, run_id: str = "test-run") -> None:
    """customs_monthly's steps for ``month`` in the DAG's order, in this process: the functions
    the DAG's tasks call, without Airflow around them."""
    from critmin.months import Month
    from critmin.steps import customs_monthly as steps
    from critmin.warehouse.lease import RunRef

    run = RunRef("customs_monthly", run_id, month)
    assert steps.wait_for_files(settings, month, Month.parse(month), "manual")
    steps.land(settings, month)
    results = steps.gate_raw(settings, month)
    steps.load(settings, run, month, results)
    steps.transform(settings, run, month)
    steps.gate_marts(settings, run, month)
    steps.publish(settings, run)
