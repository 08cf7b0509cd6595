"""Recovery reads the warehouse's own record, never a file an operator can delete.

Each case starts from a home where the registers and 2025-09 are published, with two more months
landed: 2025-10, whose downloads are damaged so that its mart gate refuses it (the partners sum to
twice the world total), and 2025-11, a good month. The lease file is deleted or garbled mid-run,
another run takes the warehouse over, a Celery-style holder stops renewing, an operator frees a
crashed run, a registers build fails after its snapshot, the same month is started twice, a run is
interrupted or its reader goes away. After each, serving.duckdb holds only months that passed
their gates, and every message said what happened.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest
from conftest import REPO, SAMPLE_LANDING, copy_dbt_project, copy_home, run_customs_steps

from critmin.errors import CritminError, QualityGateError
from critmin.operations import warehouse as operations
from critmin.operations.backup import backup
from critmin.operations.rebuild import rebuild
from critmin.settings import Settings
from critmin.steps import customs_monthly as steps
from critmin.steps import registers as register_steps
from critmin.warehouse.lease import LeaseLost, WarehouseBusy, WarehouseLease
from critmin.warehouse.loads import unpublished_loads
from critmin.warehouse.runs import RunRef

pytestmark = pytest.mark.e2e

BASE, BAD, OTHER = "2025-09", "2025-10", "2025-11"
#: The sample's 2025-10 world total is 5,473 t and the United States 656 t: a world file of 328 t
#: makes the partners twice the world total, which the mart gate refuses.
BAD_WORLD = (
    '"Commodity code","Commodity","Quantity","Unit","Supplementary Quantity","Supplementary Unit",'
    '"US dollar",\n'
    '"85051110","Permanent magnets/articles going to be prmnnt magnets, of rare-earth metals","328000",'
    '"Kilogram","0","?","?",\n'
)
WAIT = 600  # seconds: the bound on every wait for a process this module starts


def _land(settings: Settings, month: str) -> Path:
    folder = settings.paths.landing_dir("gacc/export", month)
    shutil.copytree(SAMPLE_LANDING / "gacc" / "export" / month, folder, dirs_exist_ok=True)
    return folder


def run_registers(settings: Settings, run_id: str = "registers") -> None:
    run = RunRef("registers", run_id, "registers")
    register_steps.load(settings, run, register_steps.gate(settings, date(2026, 11, 28)))
    register_steps.transform(settings, run)
    register_steps.publish(settings, run)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Settings:
    settings = Settings.for_home(tmp_path_factory.mktemp("recovery") / "home", single_process_runs=True)
    run_registers(settings)
    _land(settings, BASE)
    run_customs_steps(settings, BASE, "base")
    (_land(settings, BAD) / "85051110_world.csv").write_text(BAD_WORLD, encoding="ascii")
    _land(settings, OTHER)
    return settings


def _copy(baseline: Settings, tmp_path: Path, **options) -> Settings:
    home = tmp_path / "home"
    copy_home(baseline.paths.home, home)
    return Settings.for_home(home, **{"single_process_runs": True, **options})


def served_months(settings: Settings) -> set[str]:
    with duckdb.connect(str(settings.paths.serving_db), read_only=True) as con:
        rows = con.execute("select distinct strftime(month, '%Y-%m') from marts.fct_magnet_exports_monthly")
        return {row[0] for row in rows.fetchall()}


def warehouse_months(settings: Settings) -> set[str]:
    with duckdb.connect(str(settings.paths.warehouse_db), read_only=True) as con:
        rows = con.execute("select distinct strftime(data_month, '%Y-%m') from raw.gacc_export_rows")
        return {row[0] for row in rows.fetchall()}


def assert_only_gated(settings: Settings, served: set[str]) -> None:
    """Serving holds ``served``; nothing is left loaded and unpublished, and the lease is free."""
    assert served_months(settings) == served
    assert BAD not in warehouse_months(settings), "the ungated month was put back"
    assert not unpublished_loads(settings.paths.warehouse_db)
    assert WarehouseLease(settings).read() == (None, None)


@pytest.fixture(autouse=True)
def critmin_loggers_heard():
    """critmin's loggers reach caplog even after Airflow configured logging in this process
    (``disable_existing_loggers``)."""
    for name, logger in logging.root.manager.loggerDict.items():
        if name.startswith("critmin") and isinstance(logger, logging.Logger):
            logger.disabled = False


def _load(settings: Settings, run: RunRef) -> None:
    steps.land(settings, run.what)
    steps.load(settings, run, run.what, steps.gate_raw(settings, run.what))


def critmin(settings: Settings, *args: str, **options) -> subprocess.Popen:
    """``critmin ...`` as a user runs it, on this home, in a process group of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["CRITMIN_HOME"] = str(settings.paths.home)
    return subprocess.Popen(
        [sys.executable, "-m", "critmin.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **options,
    )


def _finish(process: subprocess.Popen) -> tuple[str, str]:
    try:
        return process.communicate(timeout=WAIT)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=60)


def _wait_for_log(log: Path, text: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + WAIT
    while not (log.exists() and text in log.read_text(encoding="utf-8", errors="replace")):
        assert process.poll() is None, f"the run ended before {text!r}: {process.communicate()}"
        assert time.monotonic() < deadline, f"{text!r} never appeared in {log}"
        time.sleep(0.05)


# --- the lease file deleted or garbled ----------------------------------------------------------


def test_a_lease_file_deleted_during_transform_never_publishes_the_ungated_month(baseline, tmp_path):
    """The reported case: delete warehouse.lease while the transform runs. Deleted once the log
    shows dbt starting, after the transform renewed the lease: deleted at the very moment of a
    renewal, the renewal's rename puts the file back (a race of the test, not of the run; seen
    once in a full `make test`), and the run rightly never knows it was gone."""
    settings = _copy(baseline, tmp_path)
    run = critmin(settings, "run-month", BAD)
    try:
        log = settings.paths.logs / "customs_monthly" / f"{BAD}.log"
        _wait_for_log(log, "building the marts after loading", run)
        settings.paths.warehouse_lease.unlink()
    finally:
        out, err = _finish(run)
    assert run.returncode == 1, out + err
    assert "partner_sum_within_world_total" in out, "the month fails for what is wrong with it"
    assert "taken for dead" not in out + err
    assert "the published serving.duckdb is unchanged" in err
    text = log.read_text(encoding="utf-8")
    assert "warehouse.lease disappeared while this run held the warehouse" in text, "the log says so"
    assert "put back 2025-10 as it was before" in text

    run_customs_steps(settings, OTHER, "next-month")
    assert_only_gated(settings, {BASE, OTHER})


#: What an operator or a full disk leaves in warehouse.lease, and why each is not a lease.
GARBAGE = {
    b"hello, not json": "it is not a lease (Expecting value: line 1 column 1 (char 0)): b'hello, not json'",
    b"\xff\xfe\x00garbled": "it is not UTF-8: b'\\xff\\xfe\\x00garbled'",
    b"": "it is not a lease (Expecting value: line 1 column 1 (char 0)): b''",
    b"[1, 2]": "it is not a lease (not a JSON object): b'[1, 2]'",
    b'{"run_id": "cut': "it is not a lease (Unterminated string starting at: line 1 column 12 (char 11)): "
    + 'b\'{"run_id": "cut\'',
}


@pytest.mark.parametrize("garbage", GARBAGE)
def test_every_garbled_lease_file_reads_as_no_lease_and_says_why(tmp_path, garbage, caplog):
    """Each kind of garbage is read as no holder, with the reason in the warning. What a run does
    then is the same for all of them: the next test runs one of them mid-run."""
    settings = Settings.for_home(tmp_path / "home", single_process_runs=True)
    settings.paths.warehouse_lease.parent.mkdir(parents=True)
    settings.paths.warehouse_lease.write_bytes(garbage)
    lease = WarehouseLease(settings)
    assert lease.read() == (None, GARBAGE[garbage])
    with caplog.at_level(logging.WARNING, logger="critmin"):
        assert lease.holder() is None
    assert f"{settings.paths.warehouse_lease} is unreadable ({GARBAGE[garbage]})" in caplog.text


def test_a_garbled_lease_file_mid_run_is_rewritten_and_the_gate_still_decides(baseline, tmp_path, caplog):
    settings = _copy(baseline, tmp_path)
    run = RunRef("customs_monthly", "garbled", BAD)
    _load(settings, run)
    settings.paths.warehouse_lease.write_bytes(b"\xff\xfe\x00garbled")
    with caplog.at_level(logging.WARNING, logger="critmin"):
        steps.transform(settings, run, BAD)
        with pytest.raises(QualityGateError, match="partner_sum_within_world_total"):
            steps.gate_marts(settings, run, BAD)
    assert f"{settings.paths.warehouse_lease} is unreadable" in caplog.text
    assert_only_gated(settings, {BASE})
    run_customs_steps(settings, OTHER, "next-month")
    assert_only_gated(settings, {BASE, OTHER})


@pytest.mark.parametrize("damage", ["deleted", "garbled"])
def test_a_run_taken_over_after_its_lease_file_was_lost_is_put_back_and_told_so(baseline, tmp_path, damage):
    settings = _copy(baseline, tmp_path)
    lost = RunRef("customs_monthly", "lost-its-lease", BAD)
    _load(settings, lost)
    if damage == "deleted":
        settings.paths.warehouse_lease.unlink()
    else:
        settings.paths.warehouse_lease.write_text("hello, not json", encoding="utf-8")

    run_customs_steps(settings, OTHER, "took-over")  # finds the lease free: puts back what `lost` loaded

    assert_only_gated(settings, {BASE, OTHER})
    with pytest.raises(LeaseLost) as error:
        steps.transform(settings, lost, BAD)
    message = str(error.value)
    assert "no longer holds this run's load of 2025-10" in message, message
    assert "Nothing of this run was published" in message


def test_publishing_refuses_while_another_runs_load_is_not_gated(baseline, tmp_path):
    """Whatever the lease says: the check is the warehouse's record, at publish time."""
    settings = _copy(baseline, tmp_path)
    ungated = RunRef("customs_monthly", "ungated", BAD)
    _load(settings, ungated)
    settings.paths.warehouse_lease.unlink()  # as if the lease never existed
    before = served_months(settings)
    from critmin.publish import PublishRefused, publish

    with pytest.raises(PublishRefused) as error:
        publish(settings.paths, RunRef("registers", "someone-else", "registers"))
    assert "2025-10 (loaded by customs_monthly run ungated" in str(error.value)
    assert "critmin warehouse release --run ungated" in str(error.value)
    assert served_months(settings) == before


# --- runs that stop renewing, and the operator ----------------------------------------------------


def test_a_celery_holder_that_stops_renewing_lapses_after_the_ttl(baseline, tmp_path):
    """Celery's shape (a run's tasks are separate processes): a holder that no task renews is dead
    once the TTL has passed; before that, a run that needs the warehouse is told how to free it."""
    settings = _copy(baseline, tmp_path, single_process_runs=False, lease_ttl_seconds=3)
    crashed = RunRef("customs_monthly", "crashed-worker", BAD)
    _load(settings, crashed)
    started = time.monotonic()

    with pytest.raises(WarehouseBusy) as busy:
        WarehouseLease(settings).acquire(RunRef("registers", "waiting", "registers"))
    assert "in use by customs_monthly 2025-10 (run crashed-worker)" in str(busy.value)
    assert "critmin warehouse release --run crashed-worker" in str(busy.value)
    assert time.monotonic() - started < 3, "the check ran within the TTL"

    time.sleep(3.2)
    run_customs_steps(settings, OTHER, "after-the-ttl")
    assert_only_gated(settings, {BASE, OTHER})


HOLDER = """
import sys, time
from pathlib import Path
from critmin.settings import Settings
from critmin.steps import customs_monthly as steps
from critmin.warehouse.runs import RunRef

settings = Settings.for_home(Path(sys.argv[1]))  # Celery's shape: the lease lapses by time only
run = RunRef("customs_monthly", sys.argv[2], "2025-10")
steps.land(settings, run.what)
steps.load(settings, run, run.what, steps.gate_raw(settings, run.what))
Path(sys.argv[3]).write_text("loaded")
time.sleep(float(sys.argv[4]))
"""


def _holder(settings: Settings, tmp_path: Path, run_id: str, seconds: float) -> subprocess.Popen:
    marker = tmp_path / f"{run_id}.loaded"
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(settings.paths.home), run_id, str(marker), str(seconds)],
        start_new_session=True,
    )
    deadline = time.monotonic() + WAIT
    while not marker.exists():
        assert process.poll() is None, "the holder failed"
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return process


def test_an_operator_frees_the_warehouse_from_a_crashed_run_but_not_from_a_live_one(baseline, tmp_path):
    settings = _copy(baseline, tmp_path, single_process_runs=False)  # a six-hour TTL
    live = _holder(settings, tmp_path, "still-working", 600)
    try:
        with pytest.raises(operations.ReleaseRefused, match="its process .* runs on this host"):
            operations.release(settings, "still-working")
        assert WarehouseLease(settings).read()[0].run_id == "still-working", "left as it was"
        assert BAD in warehouse_months(settings)
        status = "\n".join(operations.status(settings).lines(settings))
        assert "held by customs_monthly 2025-10 (run still-working)" in status
        assert "critmin warehouse release --run still-working" in status
    finally:
        os.killpg(live.pid, signal.SIGKILL)  # the worker crashes
        live.wait(timeout=60)

    done = operations.release(settings, "still-working")

    assert "what it loaded (2025-10) was put back" in done
    assert_only_gated(settings, {BASE})
    run_customs_steps(settings, OTHER, "after-release")
    assert_only_gated(settings, {BASE, OTHER})
    out, err = _finish(critmin(settings, "warehouse", "status"))
    assert "warehouse lease: free" in out and "loads not yet published: none" in out, out + err


# --- the registers' snapshot ----------------------------------------------------------------------


def test_a_registers_build_failing_after_its_snapshot_keeps_the_agreement_versions(baseline, tmp_path):
    """The snapshot records a new version of an edited agreement; a data test after it fails: the
    refused version is put back with the register tables, and never reaches the marts."""
    project = tmp_path / "dbt_project"
    copy_dbt_project(project)
    (project / "tests" / "no_refused_titles.sql").write_text(
        "select * from {{ ref('fct_mineral_agreement_versions') }} where title like '%[refused]%'\n",
        encoding="utf-8",
    )
    registers = tmp_path / "registers"
    shutil.copytree(REPO / "data" / "registers", registers)
    edited = registers / "agreements" / "2025-10-26-us-malaysia.yml"
    text = edited.read_text(encoding="utf-8")
    edited.write_text(text.replace('title: "', 'title: "[refused] ', 1), encoding="utf-8")
    settings = _copy(baseline, tmp_path, dbt_project_dir=project, registers_dir=registers)

    def versions(db: Path, table: str) -> list[tuple]:
        with duckdb.connect(str(db), read_only=True) as con:
            return con.execute(
                f"select agreement_id, title, file_sha256 from {table} order by all"
            ).fetchall()

    snapshot = versions(settings.paths.warehouse_db, "snapshots.snap_mineral_agreements")
    served = versions(settings.paths.serving_db, "marts.fct_mineral_agreement_versions")

    with pytest.raises(CritminError, match="no_refused_titles"):
        run_registers(settings, "refused-edit")

    assert versions(settings.paths.warehouse_db, "snapshots.snap_mineral_agreements") == snapshot
    assert versions(settings.paths.serving_db, "marts.fct_mineral_agreement_versions") == served
    edited.write_text(text, encoding="utf-8")  # the edit is reverted in git; the next month runs
    run_customs_steps(settings, OTHER, "next-month")  # a whole build, after the put-back
    assert versions(settings.paths.serving_db, "marts.fct_mineral_agreement_versions") == served
    assert_only_gated(settings, {BASE, OTHER})


# --- the command line: the same month twice, Ctrl-C, a reader that goes away ---------------------


def test_the_same_month_started_twice_runs_once_after_the_other(baseline, tmp_path):
    settings = _copy(baseline, tmp_path)
    first = critmin(settings, "run-month", OTHER)
    time.sleep(0.2)
    second = critmin(settings, "run-month", OTHER)
    outputs = [_finish(first), _finish(second)]

    for process, (out, err) in zip((first, second), outputs, strict=True):
        assert process.returncode == 0, out + err
        assert f"customs_monthly {OTHER}: success" in out
    assert any("waiting for the run of 2025-11 in process" in out for out, _ in outputs), outputs
    logs = sorted((settings.paths.logs / "customs_monthly" / OTHER).glob("*.log"))
    assert len(logs) == 2, "each run has a log of its own"
    for log in logs:
        text = log.read_text(encoding="utf-8")
        assert "end task task_id=publish" in text and "Task Instance not found" not in text, log
    latest = settings.paths.logs / "customs_monthly" / f"{OTHER}.log"
    assert latest.is_symlink() and latest.resolve() in logs
    assert_only_gated(settings, {BASE, OTHER})


def test_ctrl_c_puts_back_what_the_run_loaded_and_says_it_was_interrupted(baseline, tmp_path):
    settings = _copy(baseline, tmp_path)
    run = critmin(settings, "run-month", OTHER)
    try:
        _wait_for_log(
            settings.paths.logs / "customs_monthly" / f"{OTHER}.log", "starting task_id=transform", run
        )
        run.send_signal(signal.SIGINT)
    finally:
        out, err = _finish(run)
    assert run.returncode == 130, out + err
    assert f"customs_monthly {OTHER}: interrupted" in out
    assert "nothing of 2025-11 was published: what it loaded was put back and the warehouse freed" in out
    assert "interrupted (Ctrl-C)" in err and "see the log" not in out + err
    assert OTHER not in warehouse_months(settings)
    assert_only_gated(settings, {BASE})


def test_a_reader_that_stops_reading_does_not_fail_the_run(baseline, tmp_path):
    """``critmin run-month 2025-11 | head -1``."""
    settings = _copy(baseline, tmp_path)
    run = critmin(settings, "run-month", OTHER)
    try:
        first_line = run.stdout.readline()
        run.stdout.close()  # what head does after its line
        err = run.stderr.read()
        run.wait(timeout=WAIT)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=60)
    assert first_line.startswith("Starting Airflow")
    assert run.returncode == 0, err
    assert "BrokenPipeError" not in err and "Traceback" not in err
    assert OTHER in served_months(settings)


# --- inputs that were printed raw or stored before being refused ----------------------------------


def test_a_file_name_with_a_newline_never_splits_a_log_line_or_a_message(baseline, tmp_path, caplog):
    settings = _copy(baseline, tmp_path)
    folder = settings.paths.landing_dir("gacc/export", OTHER)
    (folder / "85051110_by_partner.csv").rename(folder / "85051110\nby partner.csv")
    (folder / "bad\nfile.csv").write_bytes("not, a download\n".encode("utf-16"))
    with caplog.at_level(logging.INFO, logger="critmin"), pytest.raises(QualityGateError) as error:
        steps.land(settings, OTHER)
    assert "bad\\nfile.csv" in str(error.value)
    assert "85051110\\nby partner.csv" in caplog.text
    for record in caplog.records:
        assert "\nby partner" not in record.getMessage() and "bad\nfile" not in record.getMessage()


def test_a_huge_file_no_reader_can_read_is_refused_before_it_is_stored(baseline, tmp_path):
    settings = _copy(baseline, tmp_path)
    sparse = settings.paths.landing_dir("gacc/export", OTHER) / "85051110_everything.csv"
    with sparse.open("wb") as handle:
        handle.truncate(2 * 1024**3)  # 2 GiB of zeros that take no disk space

    with pytest.raises(QualityGateError, match="encoding_is_gb18030_or_utf8"):
        steps.land(settings, OTHER)

    stored = [path.stat().st_size for path in settings.paths.raw.rglob("objects/*/*")]
    assert stored and max(stored) < 1024**2, "nothing of it was copied into the raw zone"
    manifest = (settings.paths.raw / "manifest.jsonl").read_text(encoding="utf-8")
    assert "85051110_everything.csv" not in manifest
    (kept,) = (settings.paths.quarantine / "gacc" / "export" / OTHER).glob("*85051110_everything.csv")
    assert kept.stat().st_size == 2 * 1024**3, "kept, as it was, in the quarantine"
    assert kept.stat().st_blocks * 512 < 1024**2, "moved, not copied densely"


def test_a_refused_correction_says_the_month_keeps_its_earlier_version(baseline, tmp_path):
    settings = _copy(baseline, tmp_path)
    partner_file = settings.paths.landing_dir("gacc/export", BASE) / "85051110_by_partner.csv"
    text = partner_file.read_text(encoding="gb18030")
    partner_file.write_text(text.replace('"420500"', '"-420500"'), encoding="gb18030")
    assert '"-420500"' in partner_file.read_text(encoding="gb18030"), "the sample's US figure"

    with pytest.raises(QualityGateError) as error:
        run_customs_steps(settings, BASE, "correction")

    assert "quantity_non_negative" in str(error.value)
    assert "85051110_by_partner.csv: the month keeps the version accepted before" in str(error.value)
    assert_only_gated(settings, {BASE})


# --- backups and rebuilds -------------------------------------------------------------------------


def _marts(serving: Path) -> dict[str, list[tuple]]:
    """Every published table, in full, but for what says when something ran: the gates' times,
    the snapshot's validity from when dbt looked, and the registers' gate results, filed under the
    day the registers were validated (a rebuild validates them today)."""
    with duckdb.connect(str(serving), read_only=True) as con:
        columns = con.execute(
            "select table_name, list(column_name order by column_index) filter (where data_type not like "
            "'TIMESTAMP%') from duckdb_columns() where schema_name = 'marts' group by table_name"
        ).fetchall()
        only = {"data_quality_results": "where dataset not like 'register%'"}
        return {
            table: con.execute(
                f"select {', '.join(names)} from marts.{table} {only.get(table, '')} order by all"
            ).fetchall()
            for table, names in columns
        }


def test_a_backup_restored_into_a_new_home_serves_the_same_and_runs_on(baseline, tmp_path):
    settings = _copy(baseline, tmp_path)
    taken = backup(settings, tmp_path / "backups")

    assert taken.parent == tmp_path / "backups" and taken.name.startswith("critmin-home-")
    assert not list((tmp_path / "backups").glob(".*")), "no partial copy left beside it"
    restored = Settings.for_home(tmp_path / "restored", single_process_runs=True)
    shutil.copytree(taken, restored.paths.home)  # README "Operating": restore

    assert restored.paths.serving_db.read_bytes() == settings.paths.serving_db.read_bytes()
    manifest = "raw/manifest.jsonl"
    assert (restored.paths.home / manifest).read_text() == (settings.paths.home / manifest).read_text()
    run_customs_steps(restored, OTHER, "after-restore")  # its landing folder came with it
    assert_only_gated(restored, {BASE, OTHER})


def test_a_backup_is_taken_between_runs_never_inside_one(baseline, tmp_path):
    settings = _copy(baseline, tmp_path, single_process_runs=False)
    live = _holder(settings, tmp_path, "loading", 600)
    try:
        with pytest.raises(WarehouseBusy, match=r"in use by customs_monthly 2025-10 \(run loading\)"):
            backup(settings, tmp_path / "backups", wait_seconds=1)
    finally:
        os.killpg(live.pid, signal.SIGKILL)
        live.wait(timeout=60)
    assert not (tmp_path / "backups").exists() or not any((tmp_path / "backups").iterdir())


def test_a_home_rebuilt_from_its_raw_zone_alone_serves_the_same_marts(baseline, tmp_path):
    settings = _copy(baseline, tmp_path)
    run_customs_steps(settings, OTHER, "other")
    said = []

    rebuilt = rebuild(settings, tmp_path / "rebuilt", report=said.append)

    assert not list(rebuilt.paths.landing.rglob("*.csv")), "from the raw zone alone"
    assert _marts(rebuilt.paths.serving_db) == _marts(settings.paths.serving_db)
    assert said[-1] == f"Rebuilt: {rebuilt.paths.serving_db}"
    assert any("[2/2] 2025-11: published" in line for line in said)
    with pytest.raises(CritminError, match="is not empty"):
        rebuild(settings, tmp_path / "rebuilt")
