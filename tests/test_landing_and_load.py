"""Landing into the raw zone, and the month partition load into warehouse.duckdb."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pytest
from conftest import FORMAT_SAMPLES, SAMPLE_LANDING, land_sample_month

from critmin import warehouse
from critmin.errors import InputError, QualityGateError
from critmin.months import Month
from critmin.raw_zone import RawZone, sha256_of
from critmin.settings import Settings
from critmin.sources.landing import candidates
from critmin.steps import customs_monthly as steps


def land_month(settings: Settings, month: str):
    """The land step, as the DAG runs it; returns the month's current files."""
    return steps.land(settings, Month.parse(month)).current


def load_month(settings: Settings, month: str) -> int:
    """The source's load (below the warehouse lease, which the load step adds)."""
    from critmin.sources.gacc.load import load_month as load

    return load(settings, Month.parse(month))


def gate_raw(settings: Settings, month: str):
    return steps.gate_raw(settings, Month.parse(month))


def _manifest_lines(paths) -> list[dict]:
    manifest = RawZone(paths.raw).manifest_path
    if not manifest.exists():
        return []
    return [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines()]


def _rows(paths, month=None):
    """The loaded rows of the files' current versions (the month's rows as they stand)."""
    with duckdb.connect(str(paths.warehouse_db), read_only=True) as con:
        where = f"and r.data_month = '{month}-01'" if month else ""
        return con.execute(
            "select r.data_month, r.hs8_code, r.partner_code, r.quantity, r.source_file_sha256, "
            "r.source_line "
            f"from raw.gacc_export_rows r join raw.gacc_export_files f "
            f"on r.data_month = f.data_month and r.source_file_sha256 = f.sha256 "
            f"where f.is_current {where} order by all"
        ).fetchall()


def test_landing_copies_into_content_addressed_read_only_objects(settings, paths):
    folder = land_sample_month(paths, "2025-09")
    landed = land_month(settings, "2025-09")
    assert sorted(f.entry.original_name for f in landed) == sorted(p.name for p in candidates(folder))
    assert "release_dates.csv" in {p.name for p in folder.iterdir()}, "the folder says when they came out"
    for item in landed:
        stored = paths.raw / item.entry.object_path
        assert stored.name.startswith(item.entry.sha256)
        assert sha256_of(stored) == item.entry.sha256
        assert stored.read_bytes() == (folder / item.entry.original_name).read_bytes()
        assert not stored.stat().st_mode & 0o222, "raw objects are read-only"
        assert (
            item.entry.rows
            == {"85051110_world.csv": 1, "85051110_by_partner.csv": 5}[item.entry.original_name]
        )
        assert item.is_new
    manifest = _manifest_lines(paths)
    assert {(m["source"], m["month"], m["original_name"]) for m in manifest} == {
        ("gacc/export", "2025-09", "85051110_world.csv"),
        ("gacc/export", "2025-09", "85051110_by_partner.csv"),
    }
    assert all(m["landed_at"].endswith("+00:00") for m in manifest)


def test_landing_the_identical_file_again_changes_nothing(settings, paths):
    land_sample_month(paths, "2025-05")
    land_month(settings, "2025-05")
    before = RawZone(paths.raw).manifest_path.read_bytes()
    again = land_month(settings, "2025-05")
    assert not any(f.is_new for f in again)
    assert RawZone(paths.raw).manifest_path.read_bytes() == before


def test_same_name_new_content_supersedes_and_keeps_the_earlier_version(settings, paths):
    folder = land_sample_month(paths, "2025-05")
    (first,) = [f for f in land_month(settings, "2025-05") if f.entry.original_name.endswith("world.csv")]
    world = folder / "85051110_world.csv"
    world.write_bytes(world.read_bytes().replace(b"1238470", b"1238000"))
    current = {f.entry.original_name: f for f in land_month(settings, "2025-05")}
    second = current["85051110_world.csv"]
    assert second.is_new and second.entry.sha256 != first.entry.sha256
    assert (paths.raw / first.entry.object_path).exists(), "the superseded version is kept"
    assert len([m for m in _manifest_lines(paths) if m["original_name"] == "85051110_world.csv"]) == 2
    load_month(settings, "2025-05")
    quantities = {r[2]: r[3] for r in _rows(paths, "2025-05")}
    assert quantities[None] == 1238000


def test_month_column_that_disagrees_with_the_folder_fails_the_raw_gate(settings, paths):
    folder = paths.landing_dir("gacc/export", "2025-06")
    folder.mkdir(parents=True)
    bad = folder / "wrong_month.csv"
    bad.write_bytes(b'"Date of data","Commodity code","Quantity",\n"202505","85051110","1",\n')
    land_month(settings, "2025-06")
    with pytest.raises(QualityGateError) as error:
        gate_raw(settings, "2025-06")
    message = str(error.value)
    assert "wrong_month.csv" in message and "month_matches_run" in message and "2025-06" in message
    assert "source_line=2" in message
    assert not bad.exists()
    (quarantined,) = (paths.quarantine / "gacc" / "export" / "2025-06").glob("*wrong_month.csv")
    assert quarantined.read_bytes().startswith(b'"Date of data"'), "moved, not deleted"
    assert RawZone(paths.raw).current("gacc/export", "2025-06") == []


def test_an_empty_landing_folder_says_where_to_put_the_files(settings, paths):
    with pytest.raises(InputError, match="no files have been landed for 2025-07") as error:
        land_month(settings, "2025-07")
    assert "landing/gacc/export/2025-07" in str(error.value)


def test_non_csv_files_are_quarantined_by_name(settings, paths):
    folder = paths.landing_dir("gacc/export", "2025-07")
    folder.mkdir(parents=True)
    (folder / "export.xlsx").write_bytes(b"PK")
    with pytest.raises(QualityGateError, match=r"export.xlsx.*\[rule file_is_csv\]"):
        land_month(settings, "2025-07")
    (report,) = (paths.quarantine / "gacc" / "export" / "2025-07").glob("*.report.json")
    assert json.loads(report.read_text())["failed_rules"][0]["rule"] == "file_is_csv"


def test_load_replaces_the_partition_and_reruns_never_double(settings, paths):
    land_sample_month(paths, "2025-09")
    land_month(settings, "2025-09")
    assert load_month(settings, "2025-09") == 6
    first = _rows(paths)
    assert load_month(settings, "2025-09") == 6
    assert _rows(paths) == first
    assert len(first) == 6


def test_months_loaded_in_any_order_give_the_same_warehouse(settings, paths, tmp_path):
    from critmin.settings import Paths

    months = ["2025-05", "2025-06", "2025-09"]
    reverse = Paths(tmp_path / "reverse")
    for target, order in ((paths, months), (reverse, months[::-1] + ["2025-06"])):
        for month in order:
            land_sample_month(target, month)
            land_month(Settings.for_home(target.home), month)
            load_month(Settings.for_home(target.home), month)
    assert _rows(paths) == _rows(reverse)
    assert {r[0].isoformat()[:7] for r in _rows(paths)} == set(months)


def test_a_failed_load_leaves_the_previous_partition(settings, paths, monkeypatch):
    land_sample_month(paths, "2025-09")
    land_month(settings, "2025-09")
    load_month(settings, "2025-09")
    before = _rows(paths)
    calls = {"n": 0}
    real_add_file = warehouse.CustomsMonthLoad.add_file

    def add_file_then_fail(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real_add_file(*args, **kwargs)

    monkeypatch.setattr(warehouse.CustomsMonthLoad, "add_file", add_file_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        load_month(settings, "2025-09")
    assert _rows(paths) == before


def test_load_reads_the_raw_zone_not_the_landing_folder(settings, paths):
    folder = land_sample_month(paths, "2025-05")
    land_month(settings, "2025-05")
    for path in folder.iterdir():
        path.unlink()
    assert load_month(settings, "2025-05") == 2
    assert RawZone(paths.raw).current("gacc/export", "2025-05")


@pytest.mark.parametrize(
    ("row", "rule"),
    [
        ('"85051110","?","1000",', "partner_code_known"),
        ('"85051110","502","?",', "quantity_present"),
        ('"?","502","1000",', "hs8_code_present"),
        ('"85051110","9999","5",', "partner_code_known"),
    ],
    ids=["missing-partner", "missing-quantity", "missing-hs8", "unknown-partner"],
)
def test_a_missing_key_or_quantity_fails_the_raw_gate_naming_the_line(settings, paths, row, rule):
    folder = paths.landing_dir("gacc/export", "2025-07")
    folder.mkdir(parents=True)
    header = '"Commodity code","Trading partner code","Quantity",\n'
    (folder / "by_partner.csv").write_text(header + '"85051110","304","5",\n' + row + "\n", encoding="utf-8")
    land_month(settings, "2025-07")
    with pytest.raises(QualityGateError) as error:
        gate_raw(settings, "2025-07")
    assert rule in str(error.value) and "source_line=3" in str(error.value)
    assert "source_line=2" not in str(error.value), "only the offending row is shown"


def test_the_manifest_records_the_order_of_landing(settings, paths):
    land_sample_month(paths, "2025-09")
    land_month(settings, "2025-09")
    land_sample_month(paths, "2025-05")
    land_month(settings, "2025-05")
    assert [m["sequence"] for m in _manifest_lines(paths)] == [1, 2, 3, 4]


def test_a_manifest_line_edited_by_hand_stops_landing_naming_the_line_and_what_to_do(settings, paths):
    from critmin.raw_zone import ManifestDamaged

    land_sample_month(paths, "2025-05")
    land_month(settings, "2025-05")
    manifest = RawZone(paths.raw).manifest_path
    good = manifest.read_bytes()
    (first, *rest) = good.decode("utf-8").splitlines(keepends=True)
    manifest.write_text(first[:40] + "\n" + "".join(rest), encoding="utf-8")  # line 1 cut short
    land_sample_month(paths, "2025-06")
    with pytest.raises(ManifestDamaged) as damaged:
        land_month(settings, "2025-06")
    message = str(damaged.value)
    assert f"{manifest}, line 1, is not a row of the raw zone's manifest" in message
    assert "Put it back as it was, or restore raw/manifest.jsonl from a backup" in message
    assert str(paths.raw / "objects") in message and "Nothing was landed" in message
    assert manifest.read_text(encoding="utf-8").count("\n") == len(rest) + 1, "the manifest is untouched"

    manifest.write_bytes(good)  # put back: landing goes on where it stopped
    land_month(settings, "2025-06")
    assert RawZone(paths.raw).current("gacc/export", "2025-06")


def test_a_row_whose_writing_was_stopped_is_left_out_then_kept_aside(settings, paths):
    """A kill or a full disk in the middle of appending a row leaves a last line with no newline:
    that landing never finished. It is read as absent, and the next row starts on its own line."""
    land_sample_month(paths, "2025-05")
    land_month(settings, "2025-05")
    zone = RawZone(paths.raw)
    recorded = zone.entries()
    torn = b'{"source": "gacc/export", "month": "2025-06", "original_na'
    with zone.manifest_path.open("ab") as handle:
        handle.write(torn)
    assert zone.entries() == recorded

    land_sample_month(paths, "2025-06")
    land_month(settings, "2025-06")
    (aside,) = paths.raw.glob("manifest.unfinished-row.*")
    assert aside.read_bytes() == torn, "nothing is lost"
    after = zone.entries()
    assert after[: len(recorded)] == recorded and {e.month for e in after[len(recorded) :]} == {"2025-06"}
    assert zone.manifest_path.read_bytes().endswith(b"\n")
    assert [e.sequence for e in after] == list(range(1, len(after) + 1))


def test_a_linked_month_folder_is_refused_and_nothing_outside_the_home_is_touched(settings, paths, tmp_path):
    elsewhere = tmp_path / "some" / "other" / "dir"
    elsewhere.mkdir(parents=True)
    (elsewhere / "notes.txt").write_text("not a download", encoding="utf-8")
    (elsewhere / "85051110.csv").write_text(
        '"Commodity code","Quantity",\n"85051110","7",\n', encoding="utf-8"
    )
    before = sorted((p.name, p.read_bytes()) for p in elsewhere.iterdir())
    link = paths.landing_dir("gacc/export", "2024-02")
    link.parent.mkdir(parents=True)
    link.symlink_to(elsewhere, target_is_directory=True)

    with pytest.raises(InputError, match="landing_folder_is_regular") as error:
        land_month(settings, "2024-02")

    assert str(link) in str(error.value) and "moved nothing" in str(error.value)
    assert sorted((p.name, p.read_bytes()) for p in elsewhere.iterdir()) == before
    assert not paths.quarantine.exists() or not any(paths.quarantine.rglob("*"))
    assert RawZone(paths.raw).entries() == []


def test_a_linked_landing_folder_above_the_month_is_refused_too(settings, paths, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "2024-02").mkdir(parents=True)
    (elsewhere / "2024-02" / "notes.txt").write_text("x", encoding="utf-8")
    paths.landing_dir("gacc/export", "2024-02").parent.parent.mkdir(parents=True)
    paths.landing_dir("gacc/export", "2024-02").parent.symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(InputError, match="landing_folder_is_regular"):
        land_month(settings, "2024-02")
    assert (elsewhere / "2024-02" / "notes.txt").exists()


def test_a_data_month_after_the_current_month_is_refused(settings, paths):
    from datetime import UTC, datetime
    from types import SimpleNamespace

    folder = land_sample_month(paths, "2025-09")
    future = paths.landing_dir("gacc/export", "2031-01")
    future.parent.mkdir(parents=True, exist_ok=True)
    folder.rename(future)
    context = {"dag_run": SimpleNamespace(run_after=datetime(2026, 11, 29, tzinfo=UTC)), "logical_date": None}
    latest = steps.latest_month_of_run(context)
    assert str(latest) == "2026-11"
    with pytest.raises(InputError, match="month_not_in_future") as error:
        steps.land(settings, Month(2031, 1), latest)
    assert "2031-01 is after the current month (2026-11)" in str(error.value)
    assert RawZone(paths.raw).entries() == [], "nothing of the month is landed"
    steps.check_not_in_future(Month(2026, 11), latest)  # the current month is allowed


def test_the_cli_refuses_a_month_in_the_future(settings, capsys):
    from critmin.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["run-month", "2999-01"])
    assert exit_.value.code == 2
    assert "month_not_in_future" in capsys.readouterr().err


def test_a_refused_correction_keeps_the_accepted_version_and_says_so(settings, paths, caplog):
    folder = land_sample_month(paths, "2025-09")
    land_month(settings, "2025-09")
    assert load_month(settings, "2025-09") == 6  # the world total and five partners
    accepted = _rows(paths, "2025-09")
    # A "correction" of the by-partner file with a wrong month column: refused by the raw gate.
    partner = folder / "85051110_by_partner.csv"
    header = b'"Date of data","Commodity code","Trading partner code","Quantity",\n'
    partner.write_bytes(header + b'"202508","85051110","502","1",\n')
    land_month(settings, "2025-09")
    with pytest.raises(QualityGateError, match="month_matches_run"):
        gate_raw(settings, "2025-09")
    assert not partner.exists()
    # The month is run again with nothing new in the landing folder.
    with caplog.at_level("WARNING", logger="critmin"):
        current = land_month(settings, "2025-09")
    assert sorted(f.entry.original_name for f in current) == ["85051110_by_partner.csv", "85051110_world.csv"]
    assert "85051110_by_partner.csv: its latest version" in caplog.text
    assert "keeps the version accepted before it" in caplog.text
    assert load_month(settings, "2025-09") == 6
    assert _rows(paths, "2025-09") == accepted, "no accepted row is lost"


# --- the fast path (DuckDB) and the Python reader give the same frames and the same rows ---------


def _without_fast_path(monkeypatch):
    """Make every parse go through the Python reader only."""
    from contextlib import contextmanager

    from critmin.sources.gacc import parsed

    @contextmanager
    def declined(*_args, **_kwargs):
        yield None

    monkeypatch.setattr(parsed, "scan", declined)


def _spy_on_the_fast_path(monkeypatch) -> list[bool]:
    """Record, for every file parsed, whether the fast path read it."""
    from contextlib import contextmanager

    from critmin.sources.gacc import parsed
    from critmin.sources.gacc.scan import scan

    read: list[bool] = []

    @contextmanager
    def spy(*args, **kwargs):
        with scan(*args, **kwargs) as scanned:
            read.append(scanned is not None)
            yield scanned

    monkeypatch.setattr(parsed, "scan", spy)
    return read


def _one_null_per_count(result):
    """GX's pandas engine counts each NaN of a float column as a value of its own (NaN != NaN), so
    two missing values read "unexpected: null, null"; counted in SQL they are one value, null."""
    import dataclasses
    import re

    observed = re.sub(r"null(, null)+", "null", result.observed_value)
    return dataclasses.replace(result, observed_value=observed)


def _reader_frame(settings, path, original_name, month):
    """The raw suite's batch straight from the Python reader's records: the definition the frame
    built from a download's parse must equal (values and dtypes)."""
    import pandas as pd

    from critmin import codes
    from critmin.sources.gacc.read import FIELDS, NUMERIC_FIELDS, iter_records, read_layout

    layout = read_layout(path)
    records = list(iter_records(path, layout))
    known = codes.partner_codes(settings.seeds_dir)
    listed = codes.partner_names(settings.seeds_dir)
    columns = {
        "source_file": [original_name] * len(records),
        "source_line": [r.line_number for r in records],
        "run_month": [str(month)] * len(records),
        "file_data_rows": [len(records)] * len(records),
    }
    for field in FIELDS:
        if field in NUMERIC_FIELDS:
            columns[field] = [None if (v := getattr(r, field)) is None else float(v) for r in records]
        else:
            columns[field] = [getattr(r, field) for r in records]
    columns["duplicate_key"] = [
        "|".join(v or "" for v in (r.month, r.hs8_code, r.partner_code, r.regime_code, r.province_code))
        for r in records
    ]
    columns["partner_code_known"] = [
        (r.partner_code in known) if layout.has_partner else None for r in records
    ]
    columns["partner_name_unlisted"] = [
        None if r.partner_name in listed.get(r.partner_code or "", ()) else r.partner_name for r in records
    ]
    return pd.DataFrame(columns)


FRAME_FILES = {
    "english-full": FORMAT_SAMPLES / "english-full.csv",
    "chinese-full": FORMAT_SAMPLES / "chinese-full.csv",
    "degenerate": FORMAT_SAMPLES / "english-degenerate.csv",
    "sample-by-partner": SAMPLE_LANDING / "gacc" / "export" / "2025-09" / "85051110_by_partner.csv",
    "sample-world": SAMPLE_LANDING / "gacc" / "export" / "2025-09" / "85051110_world.csv",
}
FRAME_TEXTS = {
    # unknown partner, a partner name not as listed, a missing partner, quantity and value, mojibake
    "mixed": '"Date of data","Commodity code","Trading partner code","Trading partner",'
    '"Quantity","US dollar",\n'
    '"202509","85051110","502","United States","1,000","?",\n'
    '"202509","85051110","998","Nowhere","-5","12.5",\n'
    '"?","8505111","?","?","?","?",\n'
    '"202508","85051110","304","Deutschland","2,000.25","7",\n'
    '"202509","85051110","133","ÃÀ¹ú","3","8",\n',
    "all-values-missing": '"Commodity code","Quantity","US dollar",\n'
    '"85051110","1","?",\n"85051110","2","?",\n',
}


@pytest.mark.parametrize("name", sorted(FRAME_FILES) + sorted(FRAME_TEXTS))
def test_the_raw_gate_frame_is_the_same_through_duckdb_and_the_reader(settings, tmp_path, monkeypatch, name):
    """A download parsed by DuckDB and parsed by the Python reader: the same parse file (rows,
    values, layout) and the raw suite's batch built from it equals the reader's records'."""
    import pandas as pd

    from critmin.quality.sql_validation import validate_table
    from critmin.quality.validation import validate
    from critmin.sources.gacc import parsed
    from critmin.sources.gacc.frames import file_frame, file_table

    path = FRAME_FILES.get(name)
    if path is None:
        path = tmp_path / "download.csv"
        path.write_bytes(FRAME_TEXTS[name].encode("gb18030"))
    month = Month(2025, 9)
    with monkeypatch.context() as patch:
        spied = _spy_on_the_fast_path(patch)
        fast = parsed.parse(path, tmp_path / "fast" / "x.rows.parquet")
    assert spied == [True], "the fast path must read this file"
    with monkeypatch.context() as patch:
        _without_fast_path(patch)
        slow = parsed.parse(path, tmp_path / "slow" / "x.rows.parquet")
    assert (fast.layout, fast.data_rows) == (slow.layout, slow.data_rows)
    with duckdb.connect() as con:
        rows = [con.execute("select * from read_parquet(?)", [str(p.path)]).fetchall() for p in (fast, slow)]
        described = [
            con.execute("describe select * from read_parquet(?)", [str(p.path)]).fetchall()
            for p in (fast, slow)
        ]
    assert rows[0] == rows[1] and described[0] == described[1]
    expected = _reader_frame(settings, path, path.name, month)
    for parse in (fast, slow):
        frame = file_frame(settings, parse, path.name, month)
        pd.testing.assert_frame_equal(frame, expected, check_exact=True)
        assert list(frame.dtypes) == list(expected.dtypes)
    # The raw suite run in SQL over the table the gate builds == GX's pandas engine on the frame.
    suite = settings.expectations_dir / "gacc_export_rows.json"
    options = {
        "dataset": "gacc_export_rows",
        "batch": path.name,
        "index_columns": ("source_line",),
        "render_docs": False,  # the results are compared, not the pages
    }
    in_pandas = validate(expected, suite, docs_dir=tmp_path / "pandas" / "docs" / "quality", **options)
    with duckdb.connect() as con:
        table = file_table(con, settings, fast, path.name, month)
        in_sql = validate_table(con, table, suite, docs_dir=tmp_path / "sql" / "docs" / "quality", **options)
    assert in_sql == [_one_null_per_count(result) for result in in_pandas]


def test_the_fast_path_lands_gates_and_loads_what_the_reader_does(settings, paths, tmp_path, monkeypatch):
    """The same month through the fast path and through the Python reader only: the same manifest
    rows, the same gate results and the same warehouse rows."""
    from critmin.sources.gacc.load import load_month as load

    homes = {}
    for fast in (True, False):
        home = Settings.for_home(tmp_path / ("fast" if fast else "slow"))
        land_sample_month(home.paths, "2025-09")
        with monkeypatch.context() as patch:
            if not fast:
                _without_fast_path(patch)
            landing = steps.land(home, Month(2025, 9))
            results = steps.gate_raw(home, Month(2025, 9))
            load(home, Month(2025, 9), results)
        homes[fast] = (
            sorted((f.entry.original_name, f.entry.rows) for f in landing.current),
            [(r["rule"], r["success"], r["observed_value"], r["offending_rows"]) for r in results],
            _rows(home.paths),
        )
    assert homes[True] == homes[False]
    assert not list((tmp_path / "fast" / "tmp").iterdir()), "the fast path leaves no temporary files"


def test_the_fast_path_loads_every_column_as_the_reader_does(tmp_path, monkeypatch):
    import shutil

    from critmin.sources.gacc.load import load_month as load

    loaded = {}
    for fast in (True, False):
        home = Settings.for_home(tmp_path / ("fast" if fast else "slow"))
        folder = home.paths.landing_dir("gacc/export", "2026-01")
        folder.mkdir(parents=True)
        for name in ("english-full.csv", "chinese-full.csv", "english-degenerate.csv"):
            shutil.copy(FORMAT_SAMPLES / name, folder)
        (folder / "decimals.csv").write_bytes(
            b'"Commodity code","Quantity","Supplementary Quantity","Renminbi Yuan",\n'
            b'"85051110","1,234,567.125"," 0.0000001 ","12.345",\n"85051110","007","?","-0",\n'
        )
        with monkeypatch.context() as patch:
            scanned = _spy_on_the_fast_path(patch) if fast else _without_fast_path(patch)
            steps.land(home, Month(2026, 1))
            assert load(home, Month(2026, 1)) == 15
        if fast:
            assert len(scanned) == 4 and all(scanned), "each file is read once, by DuckDB, at landing"
        with duckdb.connect(str(home.paths.warehouse_db), read_only=True) as con:
            loaded[fast] = [
                con.execute("select * from raw.gacc_export_rows order by all").fetchall(),
                con.execute(
                    "select * exclude (landed_at) from raw.gacc_export_files order by all"
                ).fetchall(),
            ]
    assert loaded[True] == loaded[False]


# --- each download is parsed once, and a kill mid-write leaves no parse behind -------------------

_FROZEN_PARSE = """
import sys, time
from pathlib import Path
from critmin.sources.gacc import parsed

real_copy = parsed._copy

def frozen(connection, query, target, metadata):
    real_copy(connection, query, target, metadata)  # the partial file is written, not yet renamed
    Path(sys.argv[3]).write_text(str(target))
    time.sleep(120)

parsed._copy = frozen
parsed.parse(Path(sys.argv[1]), Path(sys.argv[2]))
"""


def test_a_parse_killed_mid_write_leaves_no_parse_and_the_next_run_makes_it_again(tmp_path):
    """SIGKILL a landing process after it wrote a download's parse beside the raw object but
    before the rename: no file under the parse's name; the next opener parses the raw object
    again (the same rows as an uninterrupted parse) and removes the dead writer's partial file."""
    import signal
    import subprocess
    import sys
    import time

    from critmin.sources.gacc import parsed

    raw_object = tmp_path / "objects" / "ab" / "abcdef.csv"
    raw_object.parent.mkdir(parents=True)
    raw_object.write_bytes(
        (SAMPLE_LANDING / "gacc" / "export" / "2025-09" / "85051110_by_partner.csv").read_bytes()
    )
    target = parsed.rows_path(raw_object)
    marker = tmp_path / "partial-written"
    process = subprocess.Popen(
        [sys.executable, "-c", _FROZEN_PARSE, str(raw_object), str(target), str(marker)],
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), "the parse reached its write"
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    partial = Path(marker.read_text())
    assert partial.exists() and partial != target
    assert not target.exists(), "nothing under the parse's name"

    again = parsed.opened(raw_object)
    assert again.path == target and again.data_rows > 0
    assert not partial.exists(), "the killed writer's partial file is removed"
    expected = parsed.parse(raw_object, tmp_path / "uninterrupted.rows.parquet")
    with duckdb.connect() as con:
        read = [
            con.execute("select * from read_parquet(?)", [str(p)]).fetchall() for p in (target, expected.path)
        ]
    assert read[0] == read[1]


def test_landing_parses_each_download_once_and_the_gate_and_load_read_the_parse(tmp_path, monkeypatch):
    from critmin.sources.gacc import parsed
    from critmin.sources.gacc.load import load_month as load

    home = Settings.for_home(tmp_path / "home")
    land_sample_month(home.paths, "2025-09")
    with monkeypatch.context() as patch:
        scanned = _spy_on_the_fast_path(patch)
        landing = steps.land(home, Month(2025, 9))
        results = steps.gate_raw(home, Month(2025, 9))
        load(home, Month(2025, 9), results)
        steps.land(home, Month(2025, 9))  # the same files again: nothing is read again
    assert scanned == [True] * len(landing.current)
    for landed in landing.current:
        raw_object = home.paths.raw / landed.entry.object_path
        assert parsed.rows_path(raw_object).exists()


def _columns(connection, table: str) -> list[str]:
    schema, name = table.split(".", 1)
    rows = connection.execute(
        "select column_name from duckdb_columns() where schema_name = ? and table_name = ? "
        "order by column_index",
        [schema, name],
    ).fetchall()
    return [row[0] for row in rows]


def test_a_warehouse_from_before_a_table_change_is_brought_up_to_date_when_opened(tmp_path):
    """An older warehouse (no record of its definitions, a column missing, results without the
    load they gate) gains what the current definitions add, and the record, on the next open."""
    from critmin.warehouse.connection import writing
    from critmin.warehouse.tables import GACC_EXPORT_FILES, QUALITY_RESULTS, SCHEMA_VERSION, ddl_digest

    db = tmp_path / "warehouse.duckdb"
    with writing(db) as connection:
        assert connection.execute(f"select ddl_sha256 from {SCHEMA_VERSION}").fetchall() == [(ddl_digest(),)]
        connection.execute(f"alter table {GACC_EXPORT_FILES} drop column is_current")
        connection.execute(
            f"insert into {QUALITY_RESULTS} (data_month, dataset, batch, rule, expectation_type, severity, "
            "success, validated_at) values ('2025-04-01', 'gacc_export_rows', 'b', 'r', 'e', 'critical', "
            "true, now())"
        )
        connection.execute(f"drop table {SCHEMA_VERSION}")  # as before the record existed
    with writing(db) as connection:
        assert "is_current" in _columns(connection, GACC_EXPORT_FILES)
        assert connection.execute(f"select what from {QUALITY_RESULTS}").fetchall() == [("2025-04",)]
        assert connection.execute(f"select ddl_sha256 from {SCHEMA_VERSION}").fetchall() == [(ddl_digest(),)]


def test_a_warehouse_recorded_with_other_definitions_is_brought_up_to_date(tmp_path):
    """The record names the definitions a warehouse was last brought up to date with: a
    different one (an upgrade of critmin) runs the definitions again, and records the new one."""
    from critmin.warehouse.connection import writing
    from critmin.warehouse.tables import GACC_EXPORT_FILES, SCHEMA_VERSION, ddl_digest

    db = tmp_path / "warehouse.duckdb"
    with writing(db) as connection:
        connection.execute(f"alter table {GACC_EXPORT_FILES} drop column released_on")
        connection.execute(f"update {SCHEMA_VERSION} set ddl_sha256 = 'the definitions of an older critmin'")
    with writing(db) as connection:
        assert "released_on" in _columns(connection, GACC_EXPORT_FILES)
        assert connection.execute(f"select ddl_sha256 from {SCHEMA_VERSION}").fetchall() == [(ddl_digest(),)]
