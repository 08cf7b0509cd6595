"""A month's build recomputes that month and the months it feeds, and gives exactly what a full
refresh gives: months loaded out of order, reruns that change or drop rows, a gap filled later.

The partitions are written straight into the raw tables (the warehouse's own load API), with
SYNTHETIC numbers made up here: this tests the dbt models' incremental logic, not the gates.
"""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pytest
from conftest import copy_home

from critmin import transform
from critmin.errors import PipelineError
from critmin.months import Month
from critmin.settings import Settings
from critmin.warehouse import customs_month_load, mark_months_to_build
from critmin.warehouse.tables import MONTHS_TO_BUILD

pytestmark = pytest.mark.e2e

MAGNETS = "85051110"
OTHER_CODE = "85051190"  # not a magnet code: never in the fact, still in the raw tables


def _load(settings: Settings, month: str, partners: dict[str, int], world: int | None = None) -> None:
    """Replace ``month``'s partition with one by-partner file (``partners``: code -> kg) and, when
    ``world`` is given, a commodity-only file with that world total."""
    files = [("by_partner", True, partners)]
    if world is not None:
        files.append(("world", False, {None: world}))
    with customs_month_load(settings.paths.warehouse_db, Month.parse(month)) as partition:
        for sequence, (name, has_partner, quantities) in enumerate(files, start=1):
            sha = f"synthetic-{month}-{name}-{sum(quantities.values())}"
            rows = [
                {"source_line": line, "hs8_code": code, "partner_code": partner, "quantity": str(kg),
                 "unit": "Kilogram", "value_usd": str(kg * 30)}
                for line, (partner, kg) in enumerate(quantities.items(), start=2)
                for code in (MAGNETS, OTHER_CODE)
            ]  # fmt: skip
            partition.add_rows(pd.DataFrame(rows, dtype=object), sha)
            partition.add_file(
                {"sha256": sha, "original_name": f"SYNTHETIC_{name}.csv", "data_rows": len(rows),
                 "landed_at": pd.Timestamp("2026-01-01", tz="UTC"), "landing_sequence": sequence,
                 "header_language": "en", "has_partner_column": has_partner, "value_currency": "USD"}
            )  # fmt: skip


def _run(settings: Settings, month: str, partners: dict[str, int], world: int | None = None) -> None:
    """What a customs run does to the warehouse: load the month, then build what it changed."""
    _load(settings, month, partners, world)
    transform.build(settings, transform.CUSTOMS, [Month.parse(month)])


def _marts(settings: Settings) -> dict[str, list[tuple]]:
    with duckdb.connect(str(settings.paths.warehouse_db), read_only=True) as con:
        tables = con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
        ).fetchall()
        return {
            name: con.execute(f"select * from marts.{name} order by all").fetchall() for (name,) in tables
        }


def _fact(settings: Settings, month: str, partner: str) -> tuple:
    with duckdb.connect(str(settings.paths.warehouse_db), read_only=True) as con:
        return con.execute(
            "select quantity_kg, mom_pct, yoy_pct, share_of_world_pct from marts.fct_magnet_exports_monthly "
            "where month = ? and hs8_code = ? and partner_code = ?",
            [Month.parse(month).first_day, MAGNETS, partner],
        ).fetchone()


def _full_refresh_of(settings: Settings, home) -> dict[str, list[tuple]]:
    """The marts a full refresh builds from the same raw tables (on a copy of the home)."""
    copy = Settings.for_home(home)
    shutil.rmtree(home, ignore_errors=True)
    copy_home(settings.paths.home, home)
    transform.build(copy)
    return _marts(copy)


def test_incremental_runs_in_any_order_give_what_a_full_refresh_gives(tmp_path):
    settings = Settings.for_home(tmp_path / "home")
    full = tmp_path / "full"

    _run(settings, "2025-03", {"502": 1000, "304": 400, "116": 100}, world=2000)  # the first: a whole build
    _run(settings, "2024-03", {"502": 800, "304": 500}, world=1500)  # a year back: 2025-03's y/y
    _run(settings, "2025-02", {"502": 500, "304": 400}, world=1000)  # a month back: 2025-03's m/m
    assert _fact(settings, "2025-03", "502") == (1000, 100.0, 25.0, 50.0)
    assert _marts(settings) == _full_refresh_of(settings, full)

    _run(settings, "2025-04", {"502": 1500, "116": 300}, world=2500)
    _run(settings, "2025-03", {"502": 750, "304": 400}, world=1900)  # a rerun: changed, 116 dropped
    assert _fact(settings, "2025-03", "116") is None, "a partner gone from a rerun month is gone"
    assert _fact(settings, "2025-04", "502") == (1500, 100.0, None, 60.0), "the next month's m/m follows"
    assert _marts(settings) == _full_refresh_of(settings, full)

    _run(settings, "2025-06", {"502": 900}, world=1800)  # after a gap: no m/m
    assert _fact(settings, "2025-06", "502")[1] is None
    _run(settings, "2025-05", {"502": 600}, world=1200)  # the gap filled later
    assert _fact(settings, "2025-06", "502")[1] == 50.0
    _run(settings, "2026-03", {"502": 1500}, world=3000)  # a year on from the rerun month
    assert _fact(settings, "2026-03", "502")[2] == 100.0
    assert _marts(settings) == _full_refresh_of(settings, full)
    with duckdb.connect(str(settings.paths.warehouse_db), read_only=True) as con:
        assert con.execute(f"select count(*) from {MONTHS_TO_BUILD}").fetchone() == (0,), "cleared"


def test_a_months_build_leaves_the_other_months_alone(tmp_path):
    """Proof that the work is the month's: a change in the raw rows of a month no run loaded is
    not picked up by another month's build (it would be by a full refresh)."""
    settings = Settings.for_home(tmp_path / "home")
    _run(settings, "2024-06", {"502": 100}, world=200)
    _run(settings, "2025-01", {"502": 300}, world=600)
    with duckdb.connect(str(settings.paths.warehouse_db)) as con:
        con.execute("update raw.gacc_export_rows set quantity = quantity * 2 where data_month = '2024-06-01'")

    _run(settings, "2025-02", {"502": 600}, world=900)  # feeds 2025-03 and 2026-02, not 2024-06
    assert _fact(settings, "2024-06", "502")[0] == 100
    assert _fact(settings, "2025-02", "502")[1] == 100.0

    _run(settings, "2023-06", {"502": 50}, world=100)  # feeds 2024-06's y/y: 2024-06 is recomputed
    assert _fact(settings, "2024-06", "502")[:3] == (200, None, 300.0)


def test_a_failed_build_keeps_its_months_for_the_next_build(tmp_path):
    settings = Settings.for_home(tmp_path / "home")
    _run(settings, "2025-01", {"502": 300}, world=600)
    _load(settings, "2025-02", {"502": 600}, world=900)
    with duckdb.connect(str(settings.paths.warehouse_db)) as con:  # a row dbt's not_null test refuses
        con.execute(
            "insert into raw.gacc_export_rows (data_month, source_file_sha256, source_line, quantity) "
            "select data_month, sha256, 99, 1 from raw.gacc_export_files "
            "where data_month = '2025-02-01' limit 1"
        )
    with pytest.raises(PipelineError, match="not_null_stg_gacc__export_rows_hs8_code"):
        transform.build(settings, transform.CUSTOMS, [Month.parse("2025-02")])
    assert mark_months_to_build(settings.paths.warehouse_db, []) == ["2025-02-01"], "still to build"

    with duckdb.connect(str(settings.paths.warehouse_db)) as con:
        con.execute("delete from raw.gacc_export_rows where source_line = 99")
    transform.build(settings, transform.CUSTOMS, [])  # e.g. the next run of another source
    assert _fact(settings, "2025-02", "502")[:2] == (600, 100.0)
    assert mark_months_to_build(settings.paths.warehouse_db, []) == []
