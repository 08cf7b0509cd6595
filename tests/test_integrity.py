"""Only gated data is ever published: crashes, retries and concurrent runs.

Every case starts from a home where 2025-09 is published, as users see it, and involves two more
months: A = 2025-10 (the run that is killed, retried or raced) and B = 2025-11 (another run).
What serving.duckdb holds is compared with the same months run one after the other, uninterrupted.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import crash_driver
import duckdb
import pytest
from conftest import SAMPLE_LANDING, SESSION_DIR, copy_home, run_customs_steps

from critmin.embedded import run_months
from critmin.errors import CritminError
from critmin.settings import Settings
from critmin.steps import customs_monthly as steps
from critmin.steps import registers as register_steps
from critmin.warehouse.lease import RunRef, WarehouseBusy, WarehouseLease
from critmin.warehouse.loads import unpublished_loads

pytestmark = pytest.mark.e2e

BASE, A, B = "2025-09", "2025-10", "2025-11"
#: Where a run is killed: after each step, and inside publish between the rename of serving.duckdb
#: and the record that it was published.
STEPS = ("land", "gate_raw", "load", "transform", "gate_marts", "swapped", "publish")
#: The killed runs are forked from a server that has already imported the pipeline: they start
#: warm, as an Airflow worker's task process does.
FORKSERVER = multiprocessing.get_context("forkserver")
FORKSERVER.set_forkserver_preload(crash_driver.PRELOAD)


def _land(settings: Settings, month: str) -> None:
    shutil.copytree(
        SAMPLE_LANDING / "gacc" / "export" / month,
        settings.paths.landing_dir("gacc/export", month),
        dirs_exist_ok=True,
    )


def run_month(settings: Settings, month: str, run_id: str) -> None:
    """A month through the steps, in this process, as an uninterrupted run."""
    run_customs_steps(settings, month, run_id)


def served(settings: Settings) -> list[tuple]:
    with duckdb.connect(str(settings.paths.serving_db), read_only=True) as con:
        return con.execute(
            "select strftime(month, '%Y-%m'), partner_code, quantity_kg, mom_pct, yoy_pct, "
            "share_of_world_pct from marts.fct_magnet_exports_monthly order by all"
        ).fetchall()


def served_months(settings: Settings) -> set[str]:
    return {row[0] for row in served(settings)}


def served_results(settings: Settings) -> list[tuple]:
    """The customs gate results serving publishes (when each ran aside)."""
    with duckdb.connect(str(settings.paths.serving_db), read_only=True) as con:
        return con.execute(
            "select strftime(month, '%Y-%m'), dataset, batch, expectation, severity, success, "
            "observed_value, unexpected_count from marts.data_quality_results "
            "where dataset not like 'register%' order by all"
        ).fetchall()


def assert_results_describe_what_is_served(settings: Settings) -> None:
    """marts.data_quality_results holds the gates of exactly the months serving holds: for each,
    its raw gate and its mart gate."""
    results = served_results(settings)
    assert {row[0] for row in results} == served_months(settings)
    for month in served_months(settings):
        datasets = {row[1] for row in results if row[0] == month}
        assert datasets == {"gacc_export_rows", "gacc_export_month", "fct_magnet_exports_monthly"}, month


def _copy(source: Settings, target: Path, **options) -> Settings:
    copy_home(source.paths.home, target)
    return Settings.for_home(target, **options)


@pytest.fixture(scope="module")
def published() -> Settings:
    """2025-09 published through the embedded DAG (so the home has its Airflow metadata too),
    with A's and B's downloads waiting in the landing folder."""
    settings = Settings.for_home(SESSION_DIR / "integrity-baseline")
    _land(settings, BASE)
    saved = os.environ.get("CRITMIN_HOME")
    try:
        (outcome,) = run_months(settings, [BASE], report=lambda _: None)
    finally:
        os.environ["CRITMIN_HOME"] = saved or ""
    assert outcome.ok, outcome.error
    _land(settings, A)
    _land(settings, B)
    return settings


@pytest.fixture(scope="module")
def uninterrupted(published, tmp_path_factory) -> tuple[list[tuple], list[tuple]]:
    """What serving holds (the fact, and the gate results) after A then B, run one after the
    other without incident."""
    settings = _copy(published, tmp_path_factory.mktemp("uninterrupted") / "home", single_process_runs=True)
    run_month(settings, A, "a")
    run_month(settings, B, "b")
    return served(settings), served_results(settings)


@pytest.mark.parametrize("step", STEPS)
def test_a_run_killed_at_any_step_is_never_published_by_another(published, uninterrupted, tmp_path, step):
    settings = _copy(published, tmp_path / "home", single_process_runs=True)
    marker = tmp_path / "reached"
    process = FORKSERVER.Process(
        target=crash_driver.run_until_killed,
        args=(str(settings.paths.home), A, step, str(marker)),
        daemon=True,
    )
    process.start()
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():
            error = Path(f"{marker}.error")
            assert process.is_alive(), error.read_text() if error.exists() else f"exit {process.exitcode}"
            assert time.monotonic() < deadline, f"the run never reached {step}"
            time.sleep(0.1)
    finally:
        if process.is_alive():
            os.kill(process.pid, signal.SIGKILL)
        process.join(timeout=60)

    if step in ("swapped", "publish"):  # users see the month: it passed its gates
        assert A in served_months(settings)
        assert_results_describe_what_is_served(settings)
    run_month(settings, B, "another-month")

    months = served_months(settings)
    if step in ("swapped", "publish"):  # it had published: nothing users saw is lost
        assert months == {BASE, A, B}
    else:
        assert months == {BASE, B}, f"killed after {step}: only gated months are served"
    assert_results_describe_what_is_served(settings)
    assert WarehouseLease(settings).holder() is None
    assert not unpublished_loads(settings.paths.warehouse_db)

    run_month(settings, A, "rerun")
    assert (served(settings), served_results(settings)) == uninterrupted, (
        "the rerun gives what an uninterrupted run gives, gate results included"
    )


def test_a_retry_window_never_lets_another_dag_publish_the_ungated_month(published, tmp_path, monkeypatch):
    """Celery's shape: a run's tasks are separate processes, so its lease lives between them."""
    import critmin.sources.gacc.gate as gacc_gate

    settings = _copy(published, tmp_path / "home")  # single_process_runs=False: the lease lapses by time
    before = served(settings)
    run = RunRef("customs_monthly", "retried", A)
    steps.land(settings, A)
    steps.load(settings, run, A, steps.gate_raw(settings, A))
    steps.transform(settings, run, A)
    # gate_marts fails once as a lost worker would (not a gate failure: no rollback runs), and
    # Airflow puts the task up for retry.
    real_gate = gacc_gate.gate_marts

    def lost_worker(*args):
        raise RuntimeError("worker lost")

    monkeypatch.setattr(gacc_gate, "gate_marts", lost_worker)
    with pytest.raises(RuntimeError, match="worker lost"):
        steps.gate_marts(settings, run, A)
    monkeypatch.setattr(gacc_gate, "gate_marts", real_gate)

    registers = RunRef("registers", "in-the-retry-window", "registers")
    validated = register_steps.gate(settings, date(2026, 11, 28))
    with pytest.raises(WarehouseBusy, match=r"in use by customs_monthly 2025-10 \(run retried\)"):
        register_steps.load(settings, registers, validated)
    assert served(settings) == before, "nothing ungated was published"

    steps.gate_marts(settings, run, A)  # the retry
    steps.publish(settings, run)
    assert served_months(settings) == {BASE, A}
    register_steps.load(settings, registers, validated)
    register_steps.transform(settings, registers)
    register_steps.publish(settings, registers)
    assert served_months(settings) == {BASE, A}


def test_a_failed_gate_frees_the_warehouse_and_publishes_nothing(published, tmp_path):
    settings = _copy(published, tmp_path / "home")
    before = served(settings)
    run = RunRef("customs_monthly", "failing", A)
    steps.land(settings, A)
    steps.load(settings, run, A, steps.gate_raw(settings, A))
    steps.transform(settings, run, A)
    with duckdb.connect(str(settings.paths.warehouse_db)) as con:  # a tonne lost between raw and marts
        con.execute("update marts.fct_magnet_exports_monthly set quantity_kg = quantity_kg + 1000")
    with pytest.raises(CritminError, match="marts_reconcile_with_raw"):
        steps.gate_marts(settings, run, A)
    assert WarehouseLease(settings).holder() is None
    run_month(settings, B, "next")
    assert served_months(settings) == {BASE, B}
    assert served(settings) != before


def test_two_run_month_commands_at_once_give_the_sequential_result(published, uninterrupted, tmp_path):
    """Two processes, each with its own embedded Airflow on the same home (whose metadata database
    does not exist yet: they also create it at the same time)."""
    home = tmp_path / "home"
    _copy(published, home)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["CRITMIN_HOME"] = str(home)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "critmin.cli", "run-month", month],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for month in (A, B)
    ]
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=600))
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=60)
    for process, month, (out, err) in zip(processes, (A, B), outputs, strict=True):
        assert process.returncode == 0, out[-2000:] + err[-2000:]
        assert f"customs_monthly {month}: success" in out
        assert f"HS 85051110), {month}" in out, "each prints its own month, as published"
    assert served(Settings.for_home(home)) == uninterrupted[0]


HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from critmin.settings import Settings
    from critmin.warehouse.lease import RunRef, WarehouseLease

    lease = WarehouseLease(Settings.for_home(Path(sys.argv[1]), single_process_runs=True))
    run = RunRef("customs_monthly", "holder", "2025-10")
    lease.acquire(run)
    Path(sys.argv[2]).write_text("held")
    time.sleep(float(sys.argv[3]))
    lease.release(run)
    """
)


def _hold_in_another_process(settings: Settings, tmp_path: Path, seconds: float) -> subprocess.Popen:
    marker = tmp_path / "held"
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(settings.paths.home), str(marker), str(seconds)],
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    return process


def test_a_run_waits_for_the_holder_then_takes_the_warehouse(tmp_path):
    settings = Settings.for_home(tmp_path / "home", single_process_runs=True, lease_wait_seconds=60)
    holder = _hold_in_another_process(settings, tmp_path, 1.5)
    try:
        WarehouseLease(settings).acquire(RunRef("customs_monthly", "waiter", "2025-11"))
        assert holder.poll() == 0, "the lease was taken only once the holder let go"
        assert WarehouseLease(settings).holder().run_id == "waiter"
    finally:
        if holder.poll() is None:
            os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(timeout=60)


def test_a_run_that_cannot_wait_fails_naming_the_holder(tmp_path):
    settings = Settings.for_home(tmp_path / "home", single_process_runs=True, lease_wait_seconds=0.5)
    holder = _hold_in_another_process(settings, tmp_path, 30)
    try:
        with pytest.raises(WarehouseBusy, match=r"in use by customs_monthly 2025-10 \(run holder\)"):
            WarehouseLease(settings).acquire(RunRef("registers", "other", "registers"))
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(timeout=60)
    # its process is gone: the next run recovers the warehouse and takes it
    WarehouseLease(settings).acquire(RunRef("registers", "other", "registers"))
    assert WarehouseLease(settings).holder().run_id == "other"
