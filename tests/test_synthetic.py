"""The SYNTHETIC download generator: real format and codes, distinct sorted keys, exact world sums,
deterministic, never written into the demo's runtime directory, and accepted by the raw gate."""

from __future__ import annotations

import csv
import os
import random
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from bench import synthetic
from critmin.months import Month
from critmin.settings import Settings, repo_root
from critmin.sources.gacc.read import iter_records, read_layout

MONTH = Month(2025, 1)
ROWS = 3_000


@pytest.fixture(scope="module")
def month_files(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("synthetic") / "2025-01"
    by_partner, world = synthetic.write_month(folder, MONTH, ROWS)
    return by_partner, world


def _records(path: Path):
    return list(iter_records(path, read_layout(path)))


def test_file_names_are_labelled_synthetic(month_files):
    by_partner, world = month_files
    assert by_partner.name == "SYNTHETIC_gacc_exports_2025-01_by_partner_regime_province.csv"
    assert world.name == "SYNTHETIC_gacc_exports_2025-01_world.csv"
    assert sorted(p.name for p in by_partner.parent.iterdir()) == sorted([by_partner.name, world.name])
    assert "never published figures" in (synthetic.__doc__ or "")


def test_real_format_gb18030_quoted_trailing_comma_thousands(month_files):
    by_partner, world = month_files
    for path in (by_partner, world):
        data = path.read_bytes()
        text = data.decode("gb18030")
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")  # full-width characters in commodity names, as in real English files
        lines = text.split("\n")
        assert lines[-1] == ""
        for line in lines[:-1]:
            assert line.startswith('"') and line.endswith('",'), line
            cells = next(csv.reader([line]))
            assert cells[-1] == ""
    header = by_partner.read_text(encoding="gb18030").split("\n", 1)[0]
    assert header == (
        '"Commodity code","Commodity","Trading partner code","Trading partner","Customs Regime code",'
        '"Customs Regime","Locations of importers and exporters code","Quantity","Unit","US dollar",'
    )
    assert '","1,' in by_partner.read_text(encoding="gb18030")  # thousands separators, as GACC writes
    layout = read_layout(by_partner)
    assert layout.encoding == "gb18030" and layout.language == "en" and not layout.has_month


def test_reader_reads_every_row_with_distinct_sorted_real_keys(month_files):
    by_partner, _ = month_files
    records = _records(by_partner)
    assert len(records) == ROWS
    keys = [(r.hs8_code, r.partner_code, r.regime_code, r.province_code) for r in records]
    assert len(set(keys)) == ROWS
    assert keys == sorted(keys)
    ref = synthetic.reference_codes()
    units = dict(ref.hs8)
    assert all(r.unit == units[r.hs8_code] for r in records)
    assert {r.partner_code for r in records} <= set(ref.partners)
    assert {r.regime_code for r in records} <= set(ref.regimes)
    assert {r.province_code for r in records} <= set(ref.provinces)
    assert all(r.quantity is not None and r.quantity > 0 for r in records)
    assert all(r.value_usd is not None and r.value_usd > 0 for r in records)
    magnets = [r for r in records if r.hs8_code == "85051110"]
    assert 30 <= len({r.partner_code for r in magnets}) <= 45
    assert {"502", "304", "133", "141", "116"} <= {r.partner_code for r in magnets}
    assert {r.unit for r in magnets} == {"Kilogram"}
    # the other rows are spread over many codes, not piled on a few
    assert len({r.hs8_code for r in records}) > 2_000


def test_world_file_is_the_per_hs8_sum(month_files):
    by_partner, world = month_files
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for r in _records(by_partner):
        assert r.quantity is not None and r.value_usd is not None
        sums[r.hs8_code or ""][0] += r.quantity
        sums[r.hs8_code or ""][1] += r.value_usd
    world_rows = _records(world)
    assert not read_layout(world).has_partner
    assert {r.hs8_code: [r.quantity, r.value_usd] for r in world_rows} == dict(sums)
    assert len(world_rows) == len(sums)


def test_same_seed_same_bytes_other_month_or_seed_differs(tmp_path, month_files):
    again = synthetic.write_month(tmp_path / "again", MONTH, ROWS)
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in month_files]
    other_month = synthetic.write_month(tmp_path / "feb", Month(2025, 2), ROWS, world_file=False)
    other_seed = synthetic.write_month(tmp_path / "seed", MONTH, ROWS, seed=7, world_file=False)
    assert len(other_month) == len(other_seed) == 1
    assert other_month[0].name.endswith("2025-02_by_partner_regime_province.csv")
    assert other_month[0].read_bytes() != month_files[0].read_bytes()
    assert other_seed[0].read_bytes() != month_files[0].read_bytes()
    assert not (tmp_path / "seed" / "SYNTHETIC_gacc_exports_2025-01_world.csv").exists()


def test_reference_codes_and_row_counts_within_capacity():
    ref = synthetic.reference_codes()
    assert ("85051110", "Kilogram") in ref.hs8
    counts = synthetic._row_counts(random.Random(1), 3, 10, 4)
    assert sum(counts) == 10 and max(counts) <= 4


def test_tiny_month_has_exactly_the_rows_asked(tmp_path):
    by_partner, world = synthetic.write_month(tmp_path / "tiny", MONTH, 5)
    records = _records(by_partner)
    assert len(records) == 5 and {r.hs8_code for r in records} == {"85051110"}
    assert len(_records(world)) == 1
    with pytest.raises(ValueError, match="at least 1"):
        synthetic.write_month(tmp_path / "none", MONTH, 0)


def test_generate_writes_the_landing_layout_and_main_runs(tmp_path, capsys):
    written = synthetic.generate(tmp_path / "out", [Month(2025, 11), Month(2025, 12)], 200)
    assert [p.relative_to(tmp_path / "out").parent.as_posix() for p in written] == [
        "gacc/export/2025-11",
        "gacc/export/2025-11",
        "gacc/export/2025-12",
        "gacc/export/2025-12",
    ]
    code = synthetic.main(
        ["--out", str(tmp_path / "cli"), "--rows", "100", "--months", "2", "--start", "2025-12"]
    )
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "cli" / "gacc" / "export").iterdir()) == ["2025-12", "2026-01"]
    assert "SYNTHETIC" in capsys.readouterr().err


def test_refuses_the_demo_home_and_sample_data(tmp_path, monkeypatch):
    repo_home = repo_root() / "warehouse" / "landing-synthetic-test"
    env_home = Settings.from_env().paths.home
    for out in (repo_home, env_home, env_home / "landing", repo_root() / "data" / "sample" / "landing"):
        with pytest.raises(ValueError, match="never go there"):
            synthetic.generate(out, [MONTH], 10)
        with pytest.raises(ValueError, match="never go there"):
            synthetic.write_month(out / "gacc" / "export" / "2025-01", MONTH, 10)
    assert not repo_home.exists()
    assert not (env_home / "landing").exists()
    # a home set in the environment is the demo's runtime directory too, even through a link
    home = tmp_path / "home"
    home.mkdir()
    os.symlink(home, tmp_path / "link")
    monkeypatch.setenv("CRITMIN_HOME", str(home))
    with pytest.raises(ValueError, match="never go there"):
        synthetic.generate(tmp_path / "link" / "landing", [MONTH], 10)
    assert synthetic.main(["--out", str(home / "landing"), "--rows", "10"]) == 2
    assert list(home.iterdir()) == []


def test_land_and_raw_gate_accept_a_synthetic_month(tmp_path):
    from critmin.sources.gacc.gate import gate_raw
    from critmin.sources.gacc.land import land_month

    settings = Settings.for_home(tmp_path / "home")
    folder = settings.paths.landing_dir("gacc/export", MONTH)
    synthetic.write_month(folder, MONTH, 2_000)
    landing = land_month(settings, MONTH)
    landing.raise_for_refusals(settings)
    assert sorted(f.entry.rows for f in landing.current) == sorted([2_000, _world_rows(folder)])
    results = gate_raw(settings, MONTH)
    failed = [(r["batch"], r["rule"], r["observed_value"]) for r in results if not r["success"]]
    assert failed == []
    checked = {(r["batch"], r["rule"]) for r in results}
    for name in (p.name for p in folder.iterdir()):
        assert {
            (name, "no_duplicate_rows"),
            (name, "partner_code_known"),
            (name, "quantity_non_negative"),
        } <= checked


def _world_rows(folder: Path) -> int:
    return len(_records(folder / "SYNTHETIC_gacc_exports_2025-01_world.csv"))
