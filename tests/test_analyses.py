"""The worked analyses (dbt_project/analyses/) run on serving.duckdb, and the dbt docs site."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import duckdb
import pytest
from conftest import REPO, land_sample_month, published_figures

from critmin import analyses
from critmin.docs import build_dbt_docs, docs_index, write_docs_index
from critmin.settings import Settings

pytestmark = pytest.mark.e2e

#: Sample months published in the home: two consecutive months (month-over-month) and the one a
#: year before the second (year-over-year).
MONTHS = ("2025-08", "2025-09", "2024-09")
US, DE, WORLD = "502", "304", "000"


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Settings:
    """A home where the registers and three sample months are published: landed and loaded as the
    pipeline does, then one whole dbt build and a publish. The quality gates are tested elsewhere
    and skipped here (no Great Expectations: the module stays quick)."""
    from critmin.months import Month
    from critmin.publish import publish
    from critmin.sources.gacc.land import land_month
    from critmin.sources.gacc.load import load_month
    from critmin.sources.registers.load import load_registers
    from critmin.sources.registers.read import read_registers
    from critmin.transform import build
    from critmin.warehouse import RunRef, mark_gated

    settings = Settings.for_home(tmp_path_factory.mktemp("analyses") / "home", single_process_runs=True)
    registers = read_registers(settings.registers_dir)
    runs = [RunRef("test", "analyses", "registers"), *(RunRef("test", "analyses", month) for month in MONTHS)]
    load_registers(settings, registers, Month.parse("2026-11"), run=runs[0])
    for run in runs[1:]:
        land_sample_month(settings.paths, run.what)
        land_month(settings, Month.parse(run.what))
        assert load_month(settings, Month.parse(run.what), run=run)
    build(settings)
    for run in runs:  # as the gates would, had they run
        mark_gated(settings.paths.warehouse_db, run)
    publish(settings.paths, runs[0])
    return settings


@pytest.fixture(scope="module")
def compiled(home) -> dict[str, str]:
    """Every analysis compiled with its default vars, in one dbt invocation."""
    return analyses.compile_analyses(home)


@pytest.fixture(scope="module")
def results(home, compiled) -> dict[str, analyses.AnalysisResult]:
    return {name: analyses.run_sql(home, name, sql) for name, sql in compiled.items()}


def _serving(home: Settings, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(home.paths.serving_db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _identity(path) -> tuple[int, int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def _pct(new: Decimal, old: Decimal) -> float:
    return round(float(100 * (new / old - 1)), 2)


def _by(result: analyses.AnalysisResult, *keys: str) -> dict[tuple, dict]:
    records = {tuple(str(record[key]) for key in keys): record for record in result.records()}
    assert len(records) == len(result.rows), f"{result.name}: {keys} is not the grain"
    return records


def test_every_analysis_compiles_for_serving_and_refs_marts_only(home, compiled):
    assert sorted(compiled) == analyses.analysis_names(home)
    assert len(compiled) >= 4
    for name, sql in compiled.items():
        refs = [part.split('"."', 2) for part in sql.split('"serving"."')[1:]]
        assert refs, f"{name} refers to no published table"
        assert {schema for schema, *_ in refs} == {"marts"}, name
        assert '"warehouse"' not in sql, name  # never the build warehouse


def test_exports_by_destination_changes_are_the_published_figures(results):
    result = results["exports_by_destination"]
    assert result.columns[:5] == ("month", "hs8_code", "partner_iso3", "partner_name", "quantity_t")
    assert {"mom_change_t", "mom_pct", "yoy_change_t", "yoy_pct", "share_of_world_pct"} <= set(result.columns)
    rows = _by(result, "month", "partner_iso3")
    figures = published_figures()

    us = rows[("2025-09-01", "USA")]
    assert float(us["mom_pct"]) == _pct(figures[("2025-09", US)], figures[("2025-08", US)]) == -28.71
    assert us["mom_change_t"] == figures[("2025-09", US)] - figures[("2025-08", US)]
    assert us["yoy_pct"] is None and us["yoy_change_t"] is None  # no US figure for 2024-09

    world = rows[("2025-09-01", "WLD")]
    assert float(world["yoy_pct"]) == _pct(figures[("2025-09", WORLD)], figures[("2024-09", WORLD)])
    assert world["yoy_change_t"] == figures[("2025-09", WORLD)] - figures[("2024-09", WORLD)]
    # 2024-08 and 2025-08's predecessor were not published: no change, never against another month
    assert rows[("2024-09-01", "WLD")]["mom_pct"] is None
    assert rows[("2025-08-01", "DEU")]["mom_change_t"] is None
    assert result.records()[0]["partner_iso3"] == "WLD"  # the world first in each month


def test_destination_share_keeps_unpublished_figures_missing(home):
    result = analyses.run(home, "destination_share_over_time", {"partner_iso3": "DEU"})
    assert result.columns == (
        "month",
        "hs8_code",
        "partner_iso3",
        "partner_name",
        "quantity_t",
        "world_quantity_t",
        "share_of_world_pct",
        "share_change_pp",
    )
    rows = _by(result, "month")
    assert sorted(rows) == [("2024-09-01",), ("2025-08-01",), ("2025-09-01",)]  # every world month
    figures = published_figures()
    share = {
        month: round(float(figures[(month, DE)] / figures[(month, WORLD)] * 100), 2)
        for month in ("2025-08", "2025-09")
    }
    assert rows[("2025-09-01",)]["share_of_world_pct"] == share["2025-09"] == 22.31
    assert rows[("2025-09-01",)]["share_change_pp"] == pytest.approx(share["2025-09"] - share["2025-08"])
    assert rows[("2025-08-01",)]["share_change_pp"] is None  # 2025-07 is not in this home
    unpublished = rows[("2024-09-01",)]  # no German figure was published for 2024-09
    assert (unpublished["partner_iso3"], unpublished["partner_name"]) == ("DEU", "Germany")
    assert unpublished["quantity_t"] is None and unpublished["share_of_world_pct"] is None
    assert unpublished["world_quantity_t"] == figures[("2024-09", WORLD)]


def test_the_default_destination_is_the_united_states(results):
    rows = _by(results["destination_share_over_time"], "month")
    assert {record["partner_iso3"] for record in rows.values()} == {"USA"}
    assert rows[("2025-09-01",)]["quantity_t"] == published_figures()[("2025-09", US)]


def test_exports_around_events_leave_unpublished_months_null(home, results):
    result = results["exports_around_export_controls"]
    assert {"event_id", "event_on", "month", "months_from_event", "exports_world_t", "exports_us_t"} <= set(
        result.columns
    )
    events = _serving(home, "select event_id, event_on from marts.dim_policy_event")
    assert len(result.rows) == 7 * len(events)  # 3 months either side and the event's month
    published = dict(
        _serving(
            home,
            "select month, quantity_t from marts.fct_magnet_exports_monthly where partner_iso3 = 'WLD'",
        )
    )
    for record in result.records():
        assert record["exports_world_t"] == published.get(record["month"]), record
        assert record["exports_world_t"] != 0 and record["exports_us_t"] != 0  # never filled
    rows = _by(result, "event_id", "months_from_event")
    figures = published_figures()
    october = "2025-10-09-mofcom-announcements-55-56-57-58-61-62-2025"
    assert str(rows[(october, "-1")]["month"]) == "2025-09-01"
    assert rows[(october, "-1")]["exports_world_t"] == figures[("2025-09", WORLD)]
    assert rows[(october, "-1")]["exports_us_t"] == figures[("2025-09", US)]
    assert rows[(october, "0")]["exports_world_t"] is None  # 2025-10 is not in this home
    assert rows[(october, "0")]["is_world_published"] is False


def test_agreements_by_mineral_and_instrument_match_the_marts(home, results):
    result = results["agreements_by_mineral_and_instrument"]
    assert result.columns[:4] == ("mineral_id", "is_rare_earth_element", "instrument", "agreements")
    expected: dict[tuple[str, str], set[str]] = {}
    for agreement_id, mineral, instruments in _serving(
        home,
        "select a.agreement_id, m.mineral_id, a.instrument_types from marts.fct_mineral_agreements as a "
        "join marts.bridge_agreement_minerals as m on a.agreement_id = m.agreement_id",
    ):
        for instrument in instruments.split(", "):
            expected.setdefault((mineral, instrument), set()).add(agreement_id)
    rows = _by(result, "mineral_id", "instrument")
    assert {key: int(record["agreements"]) for key, record in rows.items()} == {
        key: len(ids) for key, ids in expected.items()
    }
    price_floor = rows[("NdPr", "price_floor")]  # DoD and MP Materials, July 2025
    assert "2025-07-10-dod-mp-materials" in price_floor["agreement_ids"].split(", ")
    assert price_floor["is_rare_earth_element"] is False  # NdPr is a category, not an element
    assert price_floor["agreements_without_stated_headline"] >= 1  # no headline: counted, not zero


def test_an_analysis_reads_serving_read_only_without_external_access(home, tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(duckdb.Error, match="(?i)read.only"):
        analyses.run_sql(home, "write", "create table marts.scratch as select 1 as a")
    with pytest.raises(duckdb.Error, match="(?i)external access|disabled"):
        analyses.run_sql(home, "read", f"select * from read_csv('{outside}')")


def test_an_unknown_analysis_or_an_unbuilt_home_says_what_to_do(home, tmp_path):
    with pytest.raises(analyses.AnalysisError, match="exports_by_destination"):
        analyses.run(home, "exports_by_destinations")
    empty = Settings.for_home(tmp_path / "empty")
    with pytest.raises(analyses.AnalysisError, match="make demo"):
        analyses.run(empty, "exports_by_destination")
    with pytest.raises(analyses.AnalysisError, match="make demo"):
        build_dbt_docs(empty)
    assert not empty.paths.warehouse_db.exists() and not empty.paths.serving_db.exists()


_HOLD_LOCK = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(600)
"""


def test_dbt_docs_describe_the_published_marts_without_opening_the_warehouse(home):
    files = (home.paths.warehouse_db, home.paths.serving_db)
    before = [_identity(path) for path in files]
    # Another process holds the warehouse's write lock, as a running month does: a docs build that
    # opened the warehouse would fail on the lock.
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(home.paths.warehouse_db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        index = build_dbt_docs(home)
    finally:
        holder.kill()
        holder.wait(timeout=60)

    assert index == home.paths.home / "docs" / "dbt" / "index.html"
    page = index.read_text(encoding="utf-8")
    assert "fct_magnet_exports_monthly" in page
    assert "Quantity exported, in kilograms" in page  # a column description
    assert "exports_around_export_controls" in page  # the analyses are documented too
    catalog = json.loads(index.with_name("catalog.json").read_text(encoding="utf-8"))
    columns = catalog["nodes"]["model.critmin.fct_magnet_exports_monthly"]["columns"]
    assert columns["quantity_t"]["type"].upper().startswith("DECIMAL")  # read from the published file
    manifest = json.loads(index.with_name("manifest.json").read_text(encoding="utf-8"))
    assert manifest["nodes"]["model.critmin.fct_magnet_exports_monthly"]["database"] == "serving"
    assert [_identity(path) for path in files] == before  # neither opened for writing

    # The Database tab lists serving.marts apart from what only the pipeline's warehouse holds.
    relations = [
        node
        for section in ("nodes", "sources")
        for node in manifest[section].values()
        if node["resource_type"] in ("model", "seed", "snapshot", "source")
    ]
    where = {(node["database"], node["schema"]) for node in relations}
    assert {schema for database, schema in where if database == "serving"} == {"marts"}
    assert {"raw", "staging", "intermediate", "audit"} <= {s for d, s in where if d == "warehouse"}
    staging = manifest["nodes"]["model.critmin.stg_gacc__export_rows"]
    assert staging["relation_name"].startswith('"warehouse"."staging".')
    assert json.dumps(staging["relation_name"]) in page, "the page embeds this manifest"
    assert "CATALOG.JSON INLINE DATA" not in page and "MANIFEST.JSON INLINE DATA" not in page

    # Every analysis is documented (its SQL's leading comment), and the lineage reaches the brief
    # and the BI guide's dashboard.
    for path in sorted((REPO / "dbt_project" / "analyses").glob("*.sql")):
        node = manifest["nodes"][f"analysis.critmin.{path.stem}"]
        header = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.startswith("--"):
                break
            header.append(line[2:].removeprefix(" "))
        assert node["description"].strip() == "\n".join(header).strip(), path.name
    exposures = manifest["exposures"]
    brief = exposures["exposure.critmin.monthly_brief"]["depends_on"]["nodes"]
    assert "model.critmin.fct_trade_vintages" in brief and "model.critmin.dim_policy_event" in brief
    dashboard = exposures["exposure.critmin.bi_dashboard"]["depends_on"]["nodes"]
    assert "model.critmin.mart_supply_timeline" in dashboard

    landing = docs_index(home.paths).read_text(encoding="utf-8")
    assert 'href="dbt/index.html"' in landing
    assert "not built yet: quality/index.html" in landing  # no gate has run in this home


def test_the_docs_landing_page_links_the_data_docs_once_built(tmp_path):
    paths = Settings.for_home(tmp_path / "home").paths
    paths.quality_docs_index.parent.mkdir(parents=True)
    paths.quality_docs_index.write_text("<html></html>", encoding="utf-8")
    landing = write_docs_index(paths).read_text(encoding="utf-8")
    assert 'href="quality/index.html"' in landing
    assert "not built yet: dbt/index.html" in landing
    assert "Monthly briefs (not built yet: ../briefs/YYYY-MM.html)" in landing

    paths.briefs.mkdir(parents=True)
    for month in ("2026-02", "2026-03"):
        (paths.briefs / f"{month}.html").write_text("<html></html>", encoding="utf-8")
    landing = write_docs_index(paths).read_text(encoding="utf-8")
    assert '<a href="../briefs/2026-03.html">Monthly brief, 2026-03</a>' in landing
    assert "earlier: 2026-02." in landing
