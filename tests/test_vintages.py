"""Every release kept: release dates, backfills, vintages, "as of" queries, first releases,
revisions, their gate, and a run killed while it adds a vintage.

The magnet case lands three releases of August 2025 out of order: the corrected release
(15 October 2025) first, the original (20 September 2025) after it as a backfill, then the
corrected release again, unchanged. The correction revises Germany (1,341.08 t to 1,300.5 t) and
the world total by the same 40.58 t; the United States stays 589.85 t.
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import shutil
import signal
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import crash_driver
import duckdb
import pytest
from conftest import SAMPLE_LANDING, copy_home, run_customs_steps

from critmin.errors import InputError, QualityGateError
from critmin.months import Month
from critmin.raw_zone import RawZone
from critmin.settings import Settings
from critmin.sources.releases import read_release_dates
from critmin.steps import customs_monthly as steps
from critmin.warehouse.lease import RunRef, WarehouseLease
from critmin.warehouse.loads import unpublished_loads

MONTH = "2025-08"
ORIGINAL, CORRECTED = date(2025, 9, 20), date(2025, 10, 15)
GERMANY, US, WORLD = "304", "502", "000"
OPEN = date(9999, 12, 31)
FORKSERVER = multiprocessing.get_context("forkserver")
FORKSERVER.set_forkserver_preload(crash_driver.PRELOAD)


# --- release_dates.csv ---------------------------------------------------------------------------


def _dates(tmp_path: Path, text: str, files=("a.csv",), month="2025-08", today=date(2026, 1, 1)):
    folder = tmp_path / "folder"
    folder.mkdir(exist_ok=True)
    (folder / "release_dates.csv").write_text(text, encoding="utf-8")
    return read_release_dates(folder, Month.parse(month), set(files), today)


def test_release_dates_name_each_files_day_and_how_it_is_known(tmp_path):
    dates = _dates(
        tmp_path,
        "file,released_on,basis,note\na.csv,2025-09-20,publisher,GACC's page\nb.csv,2025-10-01,supplied,\n",
        files=("a.csv", "b.csv"),
    )
    assert (dates["a.csv"].released_on, dates["a.csv"].basis) == (date(2025, 9, 20), "publisher")
    assert (dates["b.csv"].released_on, dates["b.csv"].basis) == (date(2025, 10, 1), "supplied")


def test_a_line_for_a_file_not_in_the_folder_waits_for_it(tmp_path):
    dates = _dates(tmp_path, "file,released_on,basis\nlater.csv,2025-09-20,supplied\n")
    assert "later.csv" in dates  # quarantined, or not downloaded yet: nothing to date, no error


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("name,day\n", 1, "its header is name,day"),
        ("file,released_on,basis\na.csv,20/09/2025,supplied\n", 2, "is not a date"),
        ("file,released_on,basis\na.csv,2025-08-31,supplied\n", 2, "before 2025-08 was over"),
        ("file,released_on,basis\na.csv,2026-02-01,supplied\n", 2, "after today"),
        ("file,released_on,basis\na.csv,2025-09-20,guessed\n", 2, "basis 'guessed' is not one of"),
        (
            "file,released_on,basis\na.csv,2025-09-20,supplied\na.csv,2025-09-21,supplied\n",
            3,
            "a second time",
        ),
        ("file,released_on,basis\na.csv,2025-09-20\n", 2, "has 2 fields"),
    ],
)
def test_a_bad_release_dates_file_is_refused_naming_the_line_and_what_to_do(tmp_path, text, line, problem):
    with pytest.raises(InputError) as error:
        _dates(tmp_path, text)
    assert error.value.rule == "release_dates_are_valid" and error.value.line == line
    assert problem in error.value.problem and error.value.hint
    assert "release_dates.csv" in str(error.value)


def test_a_bad_release_dates_file_stops_the_landing_and_moves_nothing(settings, paths):
    folder = _land_original(paths)
    (folder / "release_dates.csv").write_text("file,released_on,basis\n85051110_world.csv,someday,supplied\n")
    with pytest.raises(InputError, match="line 2.*is not a date"):
        steps.land(settings, MONTH)
    assert sorted(p.name for p in folder.iterdir()) == [
        "85051110_by_partner.csv",
        "85051110_world.csv",
        "release_dates.csv",
    ]
    assert not RawZone(paths.raw).entries(), "nothing landed"


# --- landing releases ----------------------------------------------------------------------------


def _land_original(paths) -> Path:
    """The sample August 2025 (released 20 September 2025, its release_dates.csv says)."""
    folder = paths.landing_dir("gacc/export", MONTH)
    shutil.copytree(SAMPLE_LANDING / "gacc" / "export" / MONTH, folder, dirs_exist_ok=True)
    return folder


def _write_dates(folder: Path, day: date, basis: str = "supplied") -> None:
    with (folder / "release_dates.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "released_on", "basis", "note"])
        for name in ("85051110_world.csv", "85051110_by_partner.csv"):
            writer.writerow([name, day.isoformat(), basis, "test"])


def _land_corrected(paths) -> Path:
    """The corrected release of 15 October 2025: Germany and the world total 40.58 t lower."""
    folder = _land_original(paths)
    for name, old, new in (
        ("85051110_by_partner.csv", b"1341080", b"1300500"),
        ("85051110_world.csv", b"6145623", b"6105043"),
    ):
        data = (folder / name).read_bytes()
        assert old in data
        (folder / name).write_bytes(data.replace(old, new))
    _write_dates(folder, CORRECTED)
    return folder


def test_a_landed_file_records_its_release_and_the_latest_release_is_current(settings, paths):
    _land_original(paths)
    steps.land(settings, MONTH)
    _land_corrected(paths)
    steps.land(settings, MONTH)
    zone = RawZone(paths.raw)
    current = {e.original_name: e for e in zone.current("gacc/export", MONTH)}
    assert {e.release_date for e in current.values()} == {CORRECTED}
    assert {e.date_basis for e in current.values()} == {"supplied"}
    assert (
        sorted(e.release_date for e in zone.accepted("gacc/export", MONTH))
        == [ORIGINAL] * 2 + [CORRECTED] * 2
    )


def test_a_file_without_a_date_is_dated_by_its_landing(settings, paths):
    folder = _land_original(paths)
    (folder / "release_dates.csv").unlink()
    steps.land(settings, MONTH)
    (entry, _) = RawZone(paths.raw).current("gacc/export", MONTH)
    assert entry.date_basis == "landing" and entry.release_date == date.fromisoformat(entry.landed_at[:10])


def test_an_older_release_is_refused_unless_it_is_a_backfill(settings, paths):
    _land_corrected(paths)
    steps.land(settings, MONTH)
    folder = _land_original(paths)  # the original files, released before the correction
    with pytest.raises(QualityGateError) as error:
        steps.land(settings, MONTH)
    message = str(error.value)
    assert "release_not_older_than_landed" in message
    assert "released on 2025-09-20" in message and "2025-10-15" in message
    assert f"make run-month MONTH={MONTH} BACKFILL=1" in message
    assert not (folder / "85051110_by_partner.csv").exists(), "the refused files are quarantined"
    quarantined = paths.quarantine / "gacc" / "export" / MONTH
    assert len(list(quarantined.glob("*85051110_by_partner.csv"))) == 1
    zone = RawZone(paths.raw)
    assert {e.release_date for e in zone.current("gacc/export", MONTH)} == {CORRECTED}, "the newer stays"

    _land_original(paths)  # put back, as the message says, and land as a backfill
    landing = steps.land(settings, MONTH, None, True)
    assert all(f.entry.release_date == CORRECTED for f in landing.current)
    assert (
        sorted(e.release_date for e in zone.accepted("gacc/export", MONTH))
        == [ORIGINAL] * 2 + [CORRECTED] * 2
    )


def test_the_dags_take_a_backfill_from_the_param_or_the_run_type():
    from types import SimpleNamespace

    assert steps.is_backfill({"params": {"backfill": True}})
    assert steps.is_backfill({"params": {}, "dag_run": SimpleNamespace(run_type="backfill")})
    assert not steps.is_backfill(
        {"params": {"backfill": False}, "dag_run": SimpleNamespace(run_type="manual")}
    )


# --- the magnet month's three releases -----------------------------------------------------------


def _query(settings: Settings, sql: str, params=()) -> list[tuple]:
    with duckdb.connect(str(settings.paths.serving_db), read_only=True) as con:
        return con.execute(sql, params).fetchall()


def _vintages(settings: Settings) -> list[tuple]:
    return _query(
        settings,
        "select partner_code, figure, realtime_start, realtime_end, vintage_number, change_kind, "
        "release_date_basis from marts.fct_trade_vintages "
        "where series_id = 'customs_export_85051110' and period_start = ? and measure = 'quantity_t' "
        "order by partner_code, realtime_start",
        [Month.parse(MONTH).first_day],
    )


def _as_of(settings: Settings, day: date) -> dict[str, Decimal]:
    from critmin.analyses import compile_analyses

    (sql,) = compile_analyses(settings, ["trade_as_of"], {"as_of": day.isoformat()}).values()
    with duckdb.connect(str(settings.paths.serving_db), read_only=True) as con:
        rows = con.execute(
            f"select partner_name, figure from ({sql}) where series_id = 'customs_export_85051110' "
            "and period_start = ? and measure = 'quantity_t'",
            [Month.parse(MONTH).first_day],
        ).fetchall()
    return dict(rows)


def _latest(settings: Settings) -> list[tuple]:
    return _query(
        settings,
        "select strftime(month, '%Y-%m'), partner_code, quantity_kg, mom_pct, yoy_pct, share_of_world_pct, "
        "source_file_sha256 from marts.fct_magnet_exports_monthly order by all",
    )


@pytest.fixture(scope="module")
def three_releases(tmp_path_factory) -> tuple[Settings, dict]:
    """August 2025's corrected release, then its original as a backfill, then the corrected one
    again, each through the customs steps and published; what serving said after each."""
    settings = Settings.for_home(tmp_path_factory.mktemp("vintages") / "home", single_process_runs=True)
    paths = settings.paths
    seen = {}
    _land_corrected(paths)
    run_customs_steps(settings, MONTH, "corrected")
    seen["corrected"] = _vintages(settings)

    _land_original(paths)
    run = RunRef("customs_monthly", "backfill", MONTH)
    steps.land(settings, MONTH, None, True)
    results = steps.gate_raw(settings, MONTH)
    steps.load(settings, run, MONTH, results)
    steps.transform(settings, run, MONTH)
    seen["backfill_gate"] = steps.gate_marts(settings, run, MONTH)
    steps.publish(settings, run)
    seen["backfill"] = _vintages(settings)
    seen["manifest"] = RawZone(paths.raw).manifest_path.read_bytes()

    _land_corrected(paths)
    run_customs_steps(settings, MONTH, "rerun")
    seen["rerun"] = _vintages(settings)
    return settings, seen


def test_a_corrected_release_adds_a_vintage_and_an_identical_one_adds_none(three_releases):
    settings, seen = three_releases
    t = Decimal
    assert seen["rerun"] == seen["backfill"], "an identical rerun adds no vintage"
    assert RawZone(settings.paths.raw).manifest_path.read_bytes() == seen["manifest"]
    assert seen["backfill"] == [
        (WORLD, t("6145.623000"), ORIGINAL, CORRECTED, 1, "first", "supplied"),
        (WORLD, t("6105.043000"), CORRECTED, OPEN, 2, "revised", "supplied"),
        (GERMANY, t("1341.080000"), ORIGINAL, CORRECTED, 1, "first", "supplied"),
        (GERMANY, t("1300.500000"), CORRECTED, OPEN, 2, "revised", "supplied"),
        (US, t("589.850000"), ORIGINAL, OPEN, 1, "first", "supplied"),
    ]
    assert seen["corrected"] == [
        (WORLD, t("6105.043000"), CORRECTED, OPEN, 1, "first", "supplied"),
        (GERMANY, t("1300.500000"), CORRECTED, OPEN, 1, "first", "supplied"),
        (US, t("589.850000"), CORRECTED, OPEN, 1, "first", "supplied"),
    ], "before the backfill, the correction was all we knew"


def test_as_of_gives_each_day_what_was_published_by_then(three_releases):
    settings, _ = three_releases
    assert _as_of(settings, date(2025, 9, 19)) == {}, "before the first release: nothing"
    assert (
        _as_of(settings, ORIGINAL)
        == _as_of(settings, date(2025, 10, 14))
        == {
            "Germany": Decimal("1341.080000"),
            "United States": Decimal("589.850000"),
            "World (all partners)": Decimal("6145.623000"),
        }
    )
    assert (
        _as_of(settings, CORRECTED)
        == _as_of(settings, date(2026, 12, 1))
        == {
            "Germany": Decimal("1300.500000"),
            "United States": Decimal("589.850000"),
            "World (all partners)": Decimal("6105.043000"),
        }
    )


def test_the_first_release_and_the_revisions_marts(three_releases):
    settings, _ = three_releases
    first = _query(
        settings,
        "select partner_code, quantity_t, first_released_on, vintages, is_release_date_supplied, "
        "share_of_world_pct from marts.fct_magnet_exports_first_release order by partner_code",
    )
    assert first == [
        (WORLD, Decimal("6145.623000"), ORIGINAL, 2, True, 100.0),
        (GERMANY, Decimal("1341.080000"), ORIGINAL, 2, True, 21.82),
        (US, Decimal("589.850000"), ORIGINAL, 1, True, 9.6),
    ]
    revisions = _query(
        settings,
        "select partner_code, first_figure, first_released_on, latest_figure, latest_released_on, change, "
        "revisions, last_revised_on from marts.fct_trade_revisions "
        "where series_id = 'customs_export_85051110' "
        "and measure = 'quantity_t' order by partner_code",
    )
    assert revisions == [
        (
            WORLD,
            Decimal("6145.623000"),
            ORIGINAL,
            Decimal("6105.043000"),
            CORRECTED,
            Decimal("-40.580000"),
            1,
            CORRECTED,
        ),
        (
            GERMANY,
            Decimal("1341.080000"),
            ORIGINAL,
            Decimal("1300.500000"),
            CORRECTED,
            Decimal("-40.580000"),
            1,
            CORRECTED,
        ),
    ]


def test_the_latest_is_what_a_build_without_the_history_gives(three_releases, tmp_path):
    settings, _ = three_releases
    alone = Settings.for_home(tmp_path / "home", single_process_runs=True)
    _land_corrected(alone.paths)
    run_customs_steps(alone, MONTH, "alone")
    strip = [row[:-1] for row in _latest(settings)]  # the file's hash is the same bytes' either way
    assert strip == [row[:-1] for row in _latest(alone)]
    assert _latest(settings) == _latest(alone)


def test_a_revision_beyond_the_share_is_a_warning_in_the_gate_results(three_releases):
    settings, seen = three_releases
    warned = [r for r in seen["backfill_gate"] if r["rule"] == "revision_within_share" and not r["success"]]
    assert len(warned) == 1 and warned[0]["severity"] == "warning"
    assert "304" in str(warned[0]["observed_value"]) or warned[0]["unexpected_count"] == 1
    published = _query(
        settings,
        "select success from marts.data_quality_results where expectation = 'revision_within_share' "
        "and dataset = 'fct_magnet_exports_monthly'",
    )
    assert (False,) in published, "named in the published results (the Data Docs have it too)"


def test_the_brief_says_which_release_it_uses_and_reads_the_same_as_of_its_day(three_releases):
    from critmin.brief import read_brief

    settings, _ = three_releases
    latest = read_brief(settings.paths.serving_db, MONTH)
    assert latest.as_of == CORRECTED
    text = " ".join(latest.sentences)
    assert "China exported 6,105 tonnes of rare-earth magnets" in text
    assert "The magnet export figures are as revised in GACC's query-platform data of 15 October 2025" in text
    then = read_brief(settings.paths.serving_db, MONTH, as_of=date(2025, 10, 1))
    assert then.as_of == ORIGINAL
    text = " ".join(then.sentences)
    assert "China exported 6,145.6 tonnes of rare-earth magnets" in text
    assert "as first published in GACC's query-platform data of 20 September 2025" in text
    assert "a day GACC does not give" in text, "a supplied date is never shown as GACC's"


# --- a run killed while it adds a vintage --------------------------------------------------------


@pytest.fixture(scope="module")
def original_published(tmp_path_factory) -> Settings:
    """A home with August 2025's original release published (copied by each test that uses it)."""
    settings = Settings.for_home(tmp_path_factory.mktemp("original") / "home", single_process_runs=True)
    _land_original(settings.paths)
    run_customs_steps(settings, MONTH, "original")
    return settings


@pytest.mark.parametrize("step", ["load", "transform", "gate_marts"])
def test_a_run_killed_while_adding_a_vintage_publishes_no_half_of_it(original_published, tmp_path, step):
    copy_home(original_published.paths.home, tmp_path / "home")
    settings = Settings.for_home(tmp_path / "home", single_process_runs=True)
    before = _vintages(settings)
    assert before, "the original release is served"
    _land_corrected(settings.paths)
    marker = tmp_path / "reached"
    process = FORKSERVER.Process(
        target=crash_driver.run_until_killed,
        args=(str(settings.paths.home), MONTH, step, str(marker)),
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

    assert _vintages(settings) == before, "serving still has the vintages it had"
    shutil.copytree(
        SAMPLE_LANDING / "gacc" / "export" / "2025-09", settings.paths.landing_dir("gacc/export", "2025-09")
    )
    run_customs_steps(settings, "2025-09", "another-month")
    assert _vintages(settings) == before, "another month's publish does not publish the killed run's vintage"
    assert WarehouseLease(settings).holder() is None and not unpublished_loads(settings.paths.warehouse_db)

    run_customs_steps(settings, MONTH, "rerun")
    after = _vintages(settings)
    assert [row[:5] for row in after if row[0] == GERMANY] == [
        (GERMANY, Decimal("1341.080000"), ORIGINAL, CORRECTED, 1),
        (GERMANY, Decimal("1300.500000"), CORRECTED, OPEN, 2),
    ]
