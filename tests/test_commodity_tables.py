"""GACC's commodity tables as a second customs source: every published figure of the reference
files reproduced by the marts, a third series added by configuration alone, the brief leading with
the headline series, and the same integrity as the magnets (a killed load never published)."""

from __future__ import annotations

import csv
import multiprocessing
import os
import shutil
import signal
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import table_crash_driver
from conftest import REPO, SAMPLE_LANDING, copy_dbt_project, copy_home, run_customs_steps
from table_fixtures import flash, write

from critmin.embedded import run_months
from critmin.months import Month
from critmin.publish import publish
from critmin.settings import Settings
from critmin.sources.gacc_tables.land import land_month
from critmin.sources.gacc_tables.load import load_month
from critmin.transform import build
from critmin.warehouse import RunRef, mark_gated
from critmin.warehouse.lease import WarehouseLease
from critmin.warehouse.loads import tables_unit, unpublished_loads

pytestmark = pytest.mark.e2e

REFERENCE = REPO / "data" / "reference" / "rare_earth"
TABLES = SAMPLE_LANDING / "gacc" / "tables"
SCALE = {"亿元": Decimal(100_000_000), "万元": Decimal(10_000)}
FORKSERVER = multiprocessing.get_context("forkserver")
FORKSERVER.set_forkserver_preload(table_crash_driver.PRELOAD)


def _load_releases(settings: Settings, months: list[str], run_id: str = "tables") -> list[RunRef]:
    """Land and load release months as the pipeline does, gates aside (they are tested with the
    DAG below): the figures are what the reader read."""
    runs = []
    for month in months:
        shutil.copytree(TABLES / month, settings.paths.landing_dir("gacc/tables", month), dirs_exist_ok=True)
        landing = land_month(settings, month)
        assert not landing.refused, landing.refused
        run = RunRef("test", run_id, tables_unit(Month.parse(month)))
        load_month(settings, Month.parse(month), run=run)
        runs.append(run)
    return runs


@pytest.fixture(scope="module")
def every_release(tmp_path_factory) -> Settings:
    """Every sample release month loaded, built and published."""
    from critmin.sources.registers.load import load_registers
    from critmin.sources.registers.read import read_registers

    settings = Settings.for_home(tmp_path_factory.mktemp("tables") / "home", single_process_runs=True)
    registers = RunRef("test", "tables", "registers")
    load_registers(settings, read_registers(settings.registers_dir), Month.parse("2026-11"), run=registers)
    runs = [registers, *_load_releases(settings, sorted(p.name for p in TABLES.iterdir()))]
    build(settings)
    for run in runs:
        mark_gated(settings.paths.warehouse_db, run)
    publish(settings.paths, runs[0])
    return settings


def _query(settings: Settings, sql: str, params=()) -> list[tuple]:
    with duckdb.connect(str(settings.paths.serving_db), read_only=True) as con:
        return con.execute(sql, params).fetchall()


def _month(text: str) -> str:
    return f"{text}-01"


def test_every_figure_of_gaccs_tables_is_reproduced_as_printed(every_release):
    with (REFERENCE / "gacc_table_rare_earth.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 244
    missing = []
    for row in rows:
        found = _query(
            every_release,
            """
            select quantity_t, value, yoy_quantity_pct_printed, yoy_value_pct_printed
            from marts.fct_commodity_release_figures
            where series_id = ? and release_kind = ? and release_month = ? and printed_as = ?
              and period_kind = ? and period_start = ? and period_end = ?
            """,
            [
                f"rare_earths_{row['flow']}",
                row["release_kind"],
                _month(row["release_month"]),
                row["printed_as"],
                row["period_kind"],
                _month(row["period_start"]),
                _month(row["period_end"]),
            ],
        )
        expected = (
            Decimal(row["quantity_t"]),
            Decimal(row["value"]) * SCALE[row["value_unit"]] if row["value"] else None,
            float(row["yoy_quantity_pct"]) if row["yoy_quantity_pct"] else None,
            float(row["yoy_value_pct"]) if row["yoy_value_pct"] else None,
        )
        if [tuple(found[0]) if found else None] != [expected]:
            missing.append(
                (row["flow"], row["release_kind"], row["release_month"], row["period_kind"], found)
            )
    assert not missing, missing[:5]


def _precision(text: str) -> Decimal:
    """Half a unit of a press figure's last printed digit (55,400 is printed to the hundred)."""
    if "." in text:
        return Decimal(5) / Decimal(10) ** (len(text.split(".")[1]) + 1)
    digits = text.lstrip("-")
    zeros = len(digits) - len(digits.rstrip("0")) if digits.strip("0") else 0
    return Decimal(5) * Decimal(10) ** zeros / 10


def test_every_press_figure_is_reproduced_within_its_printed_precision(every_release):
    with (REFERENCE / "published_rare_earth_trade.csv").open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if not row["note"].startswith("conflict:")]
    assert len(rows) >= 200
    printed = {}
    for series, kind, start, end, quantity in _query(
        every_release,
        "select series_id, period_kind, strftime(period_start, '%Y-%m'), strftime(period_end, '%Y-%m'), "
        "quantity_t from marts.fct_commodity_release_figures",
    ):
        printed.setdefault((series, kind, start, end), []).append(quantity)
    changes = {
        (series, start): (mom, yoy)
        for series, start, mom, yoy in _query(
            every_release,
            "select series_id, strftime(period_start, '%Y-%m'), mom_pct, yoy_pct "
            "from marts.fct_commodity_trade where period_kind = 'month'",
        )
    }
    wrong = []
    checked = 0
    for row in rows:
        key = (f"rare_earths_{row['flow']}", row["period_kind"], row["period_start"], row["period_end"])
        if row["quantity_t"]:
            tolerance = _precision(row["quantity_t"])
            if not any(abs(q - Decimal(row["quantity_t"])) <= tolerance for q in printed.get(key, [])):
                wrong.append(
                    ("quantity", row["period_kind"], row["period_end"], row["quantity_t"], printed.get(key))
                )
            checked += 1
        for column, index in (("pct_mom", 0), ("pct_yoy", 1)):
            if not row[column] or row["period_kind"] != "month":
                continue
            computed = changes.get((key[0], row["period_start"]), (None, None))[index]
            if computed is None:
                continue  # the comparison month was not published as a single month: not computed
            if abs(Decimal(str(computed)) - Decimal(row[column])) > _precision(row[column]) + Decimal("0.05"):
                wrong.append((column, row["period_end"], row[column], computed, row["publisher"]))
            checked += 1
    assert checked >= 150
    assert not wrong, wrong[:8]


def test_the_headline_figure_of_april_2025_and_its_change_on_march(every_release):
    (row,) = _query(
        every_release,
        "select quantity_t, mom_pct from marts.fct_commodity_trade "
        "where series_id = 'rare_earths_export' and period_kind = 'month' and period_start = '2025-04-01'",
    )
    assert (round(row[0], 1), round(row[1], 1)) == (Decimal("4784.8"), -15.6)


def test_a_combined_january_february_leaves_both_months_and_their_changes_empty(every_release):
    rows = _query(
        every_release,
        "select strftime(month, '%Y-%m'), rare_earths_import_t from marts.mart_supply_timeline "
        "where month in ('2025-01-01', '2025-02-01', '2025-03-01') order by month",
    )
    assert rows[0][1] is not None and rows[1][1] is not None, "tables 14 print January and February"
    (march_2024,) = _query(
        every_release,
        "select mom_pct from marts.fct_commodity_trade where series_id = 'rare_earths_export' "
        "and period_kind = 'month' and period_start = '2024-03-01'",
    )
    assert march_2024[0] is not None, "February 2024 was printed alone by table 13"


# --- vintages: every release kept ------------------------------------------------------------------


def _revisions(settings: Settings, series: str, start: str) -> list[tuple]:
    return _query(
        settings,
        "select strftime(period_end, '%Y-%m'), first_figure, first_released_on, latest_figure, "
        "latest_released_on, change, is_first_release_date_supplied, is_latest_release_date_supplied "
        "from marts.fct_trade_revisions where series_id = ? and measure = 'quantity_t' "
        "and period_kind = 'ytd' and period_start = ? order by period_end",
        [series, start],
    )


def test_the_2026_flashes_revisions_of_2025_exports_keep_both_values_and_both_days(every_release):
    """GACC's March-June 2026 export flashes restate 2025's January-March..January-June by +0.120 t:
    each is a revision, with the figure and day of the first printing and of the restatement."""
    from datetime import date

    revisions = _revisions(every_release, "rare_earths_export", "2025-01-01")
    assert [(row[0], row[5]) for row in revisions] == [
        ("2025-03", Decimal("0.120000")),
        ("2025-04", Decimal("0.120000")),
        ("2025-05", Decimal("0.120000")),
        ("2025-06", Decimal("0.120000")),
    ]
    june = revisions[-1]
    assert june[1:5] == (
        Decimal("32569.160000"),
        date(2025, 7, 14),
        Decimal("32569.280000"),
        date(2026, 7, 14),
    )
    assert june[6:] == (False, False), "both days are GACC's own"
    # the figure as known on a day between the two releases, and after the second
    known = {
        day: _query(
            every_release,
            "select figure from marts.fct_trade_vintages where series_id = 'rare_earths_export' "
            "and measure = 'quantity_t' and period_kind = 'ytd' and period_start = '2025-01-01' "
            "and period_end = '2025-06-01' and realtime_start <= ? and ? < realtime_end",
            [day, day],
        )
        for day in (date(2025, 7, 13), date(2026, 1, 1), date(2026, 7, 14))
    }
    assert known == {
        date(2025, 7, 13): [],
        date(2026, 1, 1): [(Decimal("32569.160000"),)],
        date(2026, 7, 14): [(Decimal("32569.280000"),)],
    }


def test_the_2024_import_chain_gap_and_its_restatement(every_release):
    """The December 2024 import flash prints the year 1.531 t below January-November plus December;
    the December 2025 flash restates the year as 132,928.8 t."""
    from datetime import date

    (first,) = _query(
        every_release,
        "select quantity_t, ytd_chain_gap_t, first_released_on, release_kind, is_release_date_supplied "
        "from marts.fct_commodity_trade_first_release where series_id = 'rare_earths_import' "
        "and period_kind = 'ytd' and period_start = '2024-01-01' and period_end = '2024-12-01'",
    )
    assert first == (Decimal("132931.016"), Decimal("-1.531"), date(2025, 1, 13), "flash", False)
    year_2024 = [
        row for row in _revisions(every_release, "rare_earths_import", "2024-01-01") if row[0] == "2024-12"
    ]
    assert year_2024 == [
        (
            "2024-12",
            Decimal("132931.016000"),
            date(2025, 1, 13),
            Decimal("132928.800000"),
            date(2026, 1, 14),
            Decimal("-2.216000"),
            False,
            False,
        )
    ]


def test_a_monthly_table_repeating_a_flash_in_whole_tonnes_adds_no_vintage(every_release):
    """Table 13 of June 2025 prints the flash's month and year to date rounded: the same figures."""
    rows = _query(
        every_release,
        "select period_kind, count(*), min(release_kind) from marts.fct_trade_vintages "
        "where series_id = 'rare_earths_export' and measure = 'quantity_t' and period_end = '2025-06-01' "
        "and period_start in ('2025-01-01', '2025-06-01') group by all order by 1",
    )
    assert rows == [("month", 1, "flash"), ("ytd", 2, "flash")], (
        "the ytd's second vintage is the 2026 revision"
    )


def test_the_latest_vintages_are_exactly_the_figures_that_stand_today(every_release):
    for measure, column in (("quantity_t", "quantity_t"), ("value_cny", "value_cny")):
        differing = _query(
            every_release,
            f"""
            select * from marts.fct_commodity_trade as today
            full join (
                select * from marts.fct_trade_vintages
                where hs8_code is null and measure = '{measure}' and realtime_end = '9999-12-31'
            ) as open
                on today.series_id = open.series_id and today.period_kind = open.period_kind
                and today.period_start = open.period_start and today.period_end = open.period_end
            where today.{column} is distinct from open.figure
            """,
        )
        assert differing == [], measure
    supplied = _query(
        every_release,
        "select distinct release_kind, release_date_basis from marts.fct_trade_vintages "
        "where hs8_code is null and is_release_date_supplied order by all",
    )
    assert ("monthly_table", "supplied") in supplied, "GACC gives no day for tables 13/14"
    assert all(basis != "publisher" for _, basis in supplied)


def test_the_worked_query_sets_rare_earth_trade_against_the_export_controls(every_release):
    from critmin import analyses

    result = analyses.run(every_release, "rare_earth_trade_around_export_controls", {"window_months": 1})
    rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
    april_2025 = [
        r for r in rows if r["event_on"].isoformat() == "2025-04-04" and r["months_from_event"] == 0
    ]
    assert april_2025 and round(april_2025[0]["rare_earths_export_t"], 1) == Decimal("4784.8")
    march_2024 = [r for r in rows if str(r["month"]) == "2024-11-01"]  # a month GACC's tables printed
    assert march_2024 and all(r["rare_earths_import_t"] is not None for r in march_2024)


def test_a_third_series_is_a_catalogue_entry_and_a_table(tmp_path):
    """GACC's 钨品 (tungsten products) added with one row of the catalogue: no code changes."""
    project = tmp_path / "dbt_project"
    copy_dbt_project(project)
    catalogue = project / "seeds" / "reference" / "gacc_table_series.csv"
    catalogue.write_text(
        catalogue.read_text(encoding="utf-8")
        + "tungsten_export,tungsten products,钨品,export,钨品,吨,,,flash\n",
        encoding="utf-8",
    )
    settings = Settings.for_home(tmp_path / "home", dbt_project_dir=project)
    table = flash()  # test figures, not published ones: a fixture of the reader's tests
    table.lines.append(["钨品", "吨", 1234.5, 2.5, 4321.5, 8.5, 4000.1, 8.0, "8.0", "6.3"])
    write(table, settings.paths.landing_dir("gacc/tables", "2025-04") / "flash_export_cny.xls")
    land_month(settings, "2025-04")
    run = RunRef("test", "tungsten", tables_unit(Month.parse("2025-04")))
    assert load_month(settings, Month.parse("2025-04"), run=run) == 6  # 3 figures of each line
    build(settings)
    with duckdb.connect(str(settings.paths.warehouse_db), read_only=True) as con:
        series = con.execute(
            "select series_id, commodity, quantity_t from marts.fct_commodity_trade "
            "where period_kind = 'month' order by series_id"
        ).fetchall()
    assert series == [
        ("rare_earths_export", "rare earths", Decimal("4784.771")),
        ("tungsten_export", "tungsten products", Decimal("1234.500")),
    ]


# --- through the DAG, with its gates --------------------------------------------------------------


@pytest.fixture(scope="module")
def dag_home(tmp_path_factory) -> Settings:
    """2025-09's magnets published through customs_monthly, then release months 2025-03 and
    2025-04 through commodity_tables: both DAGs on one warehouse."""
    settings = Settings.for_home(tmp_path_factory.mktemp("tables-dag") / "home")
    shutil.copytree(
        SAMPLE_LANDING / "gacc" / "export" / "2025-09", settings.paths.landing_dir("gacc/export", "2025-09")
    )
    for month in ("2025-03", "2025-04"):
        shutil.copytree(TABLES / month, settings.paths.landing_dir("gacc/tables", month))
    saved = os.environ.get("CRITMIN_HOME")
    try:
        outcomes = run_months(settings, ["2025-09"], report=lambda _: None)
        outcomes += run_months(
            settings, ["2025-03", "2025-04"], dag_id="commodity_tables", report=lambda _: None
        )
    finally:
        os.environ["CRITMIN_HOME"] = saved or ""
    assert [o.state for o in outcomes] == ["success"] * 3, [o.error for o in outcomes]
    return settings


def test_both_dags_publish_to_one_serving_file_with_their_gate_results(dag_home):
    served = _query(dag_home, "select distinct strftime(period_end, '%Y-%m') from marts.fct_commodity_trade")
    assert {m for (m,) in served} >= {"2025-03", "2025-04"}
    assert _query(dag_home, "select count(*) from marts.fct_magnet_exports_monthly")[0][0] > 0
    datasets = {d for (d,) in _query(dag_home, "select distinct dataset from marts.data_quality_results")}
    assert {"gacc_table_figures", "gacc_table_release", "gacc_export_rows"} <= datasets
    assert not unpublished_loads(dag_home.paths.warehouse_db)


def test_the_brief_leads_with_the_headline_series_and_says_what_is_not_yet_published(dag_home):
    text = (dag_home.paths.briefs / "2025-04.md").read_text(encoding="utf-8")
    assert "China exported 4,784.8 tonnes of rare earths in April 2025, down 15.6% from March" in text
    assert "China imported" in text
    assert "magnet exports by destination for April 2025 are not published yet" in text
    assert (dag_home.paths.briefs / "2025-04.png").stat().st_size > 10_000


def test_a_table_refused_through_the_dag_is_quarantined_and_nothing_is_published(dag_home, tmp_path):
    home = tmp_path / "home"
    copy_home(dag_home.paths.home, home)
    settings = Settings.for_home(home)
    before = settings.paths.serving_db.read_bytes()
    write(
        flash(month=5, unit="单位∶千元人民币"),
        settings.paths.landing_dir("gacc/tables", "2025-05") / "flash.xls",
    )
    saved = os.environ.get("CRITMIN_HOME")
    try:
        (outcome,) = run_months(settings, ["2025-05"], dag_id="commodity_tables", report=lambda _: None)
    finally:
        os.environ["CRITMIN_HOME"] = saved or ""
    assert outcome.state == "failed"
    assert "unit_known" in outcome.error and "flash.xls: row 2, column J" in outcome.error, outcome.error
    assert list((settings.paths.quarantine / "gacc" / "tables" / "2025-05").glob("*flash.xls.report.json"))
    assert settings.paths.serving_db.read_bytes() == before


def test_a_killed_tables_load_is_never_published_by_a_magnets_run(dag_home, tmp_path):
    """The crash test of customs_monthly, extended to the second DAG: the tables run is killed
    after its load, a month of magnets runs next."""
    home = tmp_path / "home"
    copy_home(dag_home.paths.home, home)
    shutil.copytree(TABLES / "2025-05", home / "landing" / "gacc" / "tables" / "2025-05")
    shutil.copytree(
        SAMPLE_LANDING / "gacc" / "export" / "2025-10", home / "landing" / "gacc" / "export" / "2025-10"
    )
    marker = tmp_path / "loaded"
    process = FORKSERVER.Process(
        target=table_crash_driver.load_then_wait, args=(str(home), "2025-05", str(marker)), daemon=True
    )
    process.start()
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():
            error = Path(f"{marker}.error")
            assert process.is_alive(), error.read_text() if error.exists() else f"exit {process.exitcode}"
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        if process.is_alive():
            os.kill(process.pid, signal.SIGKILL)
        process.join(timeout=60)

    settings = Settings.for_home(home, single_process_runs=True)
    run_customs_steps(settings, "2025-10", "after-the-kill")

    served = {
        m
        for (m,) in _query(
            settings, "select distinct strftime(period_end, '%Y-%m') from marts.fct_commodity_trade"
        )
    }
    assert "2025-05" not in served, "the killed release month was never gated"
    assert "2025-10" in {
        m
        for (m,) in _query(
            settings, "select distinct strftime(month, '%Y-%m') from marts.fct_magnet_exports_monthly"
        )
    }
    assert not unpublished_loads(settings.paths.warehouse_db)
    assert WarehouseLease(settings).read() == (None, None)
