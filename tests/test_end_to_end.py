"""customs_monthly end to end with the embedded Airflow, on the sample data, in a temporary home."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pytest
from bi_clients import STATE_SQL, VERSIONS, Poller, run_client
from conftest import (
    SAMPLE_LANDING,
    SESSION_DIR,
    copy_home,
    land_sample_month,
    published_figures,
    sample_months,
    settings_for,
)

from critmin import brief
from critmin.cli import month_table
from critmin.embedded import run_months
from critmin.months import Month
from critmin.settings import Paths
from critmin.sources.gacc.read import iter_records

pytestmark = pytest.mark.e2e


DEMO_HOME = SESSION_DIR / "e2e-demo"


@pytest.fixture(scope="module")
def bi_poller():
    """A BI client (Superset's driver stack) that polls serving.duckdb all through the demo."""
    poller = Poller(Paths(DEMO_HOME).serving_db, SESSION_DIR / "e2e-bi-poller")
    yield poller
    poller.stop()


@pytest.fixture(scope="module")
def demo(bi_poller):
    """`critmin demo` (what `make demo` runs) in a fresh interpreter, in a temporary home.

    The Airflow settings of the test session are removed from its environment, so it sets up its
    own embedded Airflow under the temporary $CRITMIN_HOME, as on a new machine.
    """
    paths = Paths(DEMO_HOME)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["CRITMIN_HOME"] = str(paths.home)
    result = subprocess.run(
        [sys.executable, "-m", "critmin.cli", "demo"],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,  # 3½ to 8½ minutes alone; 15 on a machine loaded by another test run
    )
    bi_poller.stop()
    return paths, result


@pytest.fixture
def demo_copy(demo, tmp_path, monkeypatch):
    """A private copy of the demo home, for tests that run more months."""
    paths, _ = demo
    copy = Paths(tmp_path / "home")
    copy_home(paths.home, copy.home)
    monkeypatch.setenv("CRITMIN_HOME", str(copy.home))
    return copy


def _serving_rows(paths):
    with duckdb.connect(str(paths.serving_db), read_only=True) as con:
        return con.execute(
            "select strftime(month, '%Y-%m'), partner_code, quantity_t, mom_pct, yoy_pct, "
            "share_of_world_pct, partner_iso3, source_file_sha256 "
            "from marts.fct_magnet_exports_monthly order by all"
        ).fetchall()


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_demo_runs_every_sample_month_with_progress_and_prints_the_table(demo):
    paths, result = demo
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    months = sample_months()
    progress = re.findall(
        r"^\[\s*(\d+)/(\d+)\] customs_monthly (\d{4}-\d{2}): (\w+) in ", result.stdout, re.MULTILINE
    )
    expected = [(str(k), str(len(months)), month, "success") for k, month in enumerate(months, 1)]
    assert progress == expected
    assert f"HS 85051110), {months[-1]}" in result.stdout
    assert "World (all partners)" in result.stdout
    assert (paths.airflow_home / "airflow.db").exists(), "Airflow's metadata lives under $CRITMIN_HOME"
    for month in months:
        log = (paths.home / "logs" / "customs_monthly" / f"{month}.log").read_text(encoding="utf-8")
        assert "[DAG TEST] end task task_id=publish" in log
        assert "Completed successfully" in log  # dbt's output is in the month's log too


def test_airflow_records_each_demo_run_as_it_ran_with_its_data_month(demo):
    """What Airflow's UI shows of the demo: each run's real duration (dag.test() dated a run's start
    by its logical date, weeks before), and its data month in the run's id and note."""
    import sqlite3
    from datetime import datetime

    paths, result = demo
    assert result.returncode == 0
    database = f"file:{paths.airflow_home / 'airflow.db'}?mode=ro"
    with contextlib.closing(sqlite3.connect(database, uri=True)) as connection:
        runs = connection.execute(
            "select d.dag_id, d.start_date, d.end_date, n.content, d.run_id from dag_run d "
            "left join dag_run_note n on n.dag_run_id = d.id"
        ).fetchall()
    assert {dag_id for dag_id, *_ in runs} == {"registers", "customs_monthly", "commodity_tables"}
    for dag_id, start, end, note, run_id in runs:
        seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
        assert 0 < seconds < 300, (dag_id, start, end)
        if dag_id != "registers":
            found = re.fullmatch(r"Data month (\d{4}-\d{2})\. Run by critmin in this process\.", note or "")
            assert found, note
            assert run_id.startswith(f"manual__{found[1]}__"), run_id
    noted = {note.split()[2].rstrip(".") for dag_id, _, _, note, _ in runs if dag_id == "customs_monthly"}
    assert noted == set(sample_months())


def test_served_quantities_equal_every_published_figure(demo):
    paths, _ = demo
    figures = published_figures()
    served = {(month, code): Decimal(str(t)) for month, code, t, *_ in _serving_rows(paths)}
    assert served == figures


def test_changes_are_null_exactly_where_the_comparison_month_is_missing(demo):
    paths, _ = demo
    figures = published_figures()

    def shifted(month: str, months_back: int) -> str:
        return str(Month.parse(month).shifted(-months_back))

    for month, code, tonnes, mom, yoy, share, iso3, _ in _serving_rows(paths):
        for value, back in ((mom, 1), (yoy, 12)):
            base = figures.get((shifted(month, back), code))
            if base is None:
                assert value is None, (month, code, back)
            else:
                expected = round(100 * (float(tonnes) / float(base) - 1), 2)
                assert value == pytest.approx(expected, abs=0.01), (month, code, back)
        world = figures.get((month, "000"))
        assert share == pytest.approx(round(100 * float(tonnes) / float(world), 2), abs=0.01)
        assert iso3 == {"000": "WLD", "502": "USA", "304": "DEU", "133": "KOR"}.get(code, iso3)


def test_every_served_row_traces_to_its_raw_download(demo):
    paths, _ = demo
    for month, code, tonnes, *_, sha256 in _serving_rows(paths):
        (raw_file,) = paths.raw.glob(f"objects/{sha256[:2]}/{sha256}.csv")  # the bytes, not their parse
        quantities = {r.partner_code or "000": r.quantity for r in iter_records(raw_file)}
        assert quantities[code] == Decimal(str(tonnes)) * 1000, (month, code)


def test_serving_has_documented_marts_only(demo):
    paths, _ = demo
    with duckdb.connect(str(paths.serving_db), read_only=True) as con:
        schemas = {r[0] for r in con.execute("select distinct schema_name from duckdb_tables()").fetchall()}
        undocumented = con.execute(
            "select table_name, column_name from duckdb_columns() "
            "where schema_name = 'marts' and (comment is null or comment = '')"
        ).fetchall()
    assert schemas == {"marts"}
    assert undocumented == []


def _published_states(serving_db):
    """The state of the marts after each publish of the demo, in order, from the final file:
    the registers (no month yet), then each month in turn. A month's rows depend only on it and
    earlier months, so the state after month M is the final rows up to M."""
    by_month = STATE_SQL.replace("from marts.fct_magnet_exports_monthly", "from facts")
    with duckdb.connect(str(serving_db), read_only=True) as con:
        states = []
        for last in [None, *sample_months()]:
            cutoff = Month.parse(last).first_day if last else None
            con.execute(
                "create or replace temp table facts as select * from marts.fct_magnet_exports_monthly "
                "where month <= ?",
                [cutoff],
            )
            states.append(tuple(con.execute(by_month).fetchone()))
    return states


def test_a_bi_client_polling_during_the_demo_saw_every_publish_whole_and_no_error(demo, bi_poller):
    """Superset's stack (SQLAlchemy 1.4, duckdb-engine, DuckDB 1.5, a connection per query) polled
    the marts while the demo published the registers and every month."""
    paths, result = demo
    assert result.returncode == 0
    lines = bi_poller.lines()
    assert lines[0]["ready"].startswith("1.5."), lines[0]
    errors = [line for line in lines if "error" in line]
    assert errors == [], f"{len(errors)} failed queries, the first: {errors[:3]}"
    expected = _published_states(paths.serving_db)
    position = {state: index for index, state in enumerate(expected)}
    seen = [tuple(line["state"]) for line in lines if "state" in line]
    assert not set(seen) - set(position), "a query saw a state that was never published"
    order = [position[state] for state in seen]
    assert order == sorted(order), "a query saw an older state after a newer one"
    assert sorted(set(order)) == list(range(len(expected))), "some publish was never seen"
    # Where a reader could meet a publish: the last query before each new state ran while the
    # next file was staged (one change in ten may slip between two looks on a loaded machine).
    states = [line for line in lines if "state" in line]
    before_a_change = [
        line for line, after in zip(states, states[1:], strict=False) if after["state"] != line["state"]
    ]
    assert len(before_a_change) == len(expected) - 1
    unstaged = [line for line in before_a_change if line.get("publish") != "staged"]
    assert len(unstaged) <= len(before_a_change) // 10, f"no query while the file was staged: {unstaged}"
    assert expected[-1][0].split(",") == sample_months()


@pytest.mark.parametrize("version", VERSIONS)
def test_the_demos_serving_file_opens_with_duckdb_1x_read_only(demo, version):
    paths, _ = demo
    assert oct(paths.serving_db.stat().st_mode & 0o777) == oct(0o444)
    with duckdb.connect(str(paths.serving_db), read_only=True) as con:
        tables = con.execute(
            "select table_name, estimated_size from duckdb_tables() where schema_name = 'marts' order by 1"
        ).fetchall()
        counts = {t: con.execute(f"select count(*) from marts.{t}").fetchone()[0] for t, _ in tables}
        (columns,) = con.execute(
            "select count(*) from duckdb_columns() where schema_name = 'marts'"
        ).fetchone()

    seen = run_client(version, "describe", paths.serving_db)

    assert seen["duckdb"].startswith(version + ".")
    assert seen["tables"] == [t for t, _ in tables]
    assert seen["counts"] == counts
    assert seen["commented_columns"] == columns
    assert seen["columns"]["month"] == "DATE"
    assert seen["columns"]["quantity_t"].startswith("NUMERIC(")
    assert (seen["month_python_type"], seen["quantity_python_type"]) == ("date", "Decimal")


def test_latest_month_table_is_printed(demo):
    paths, _ = demo
    table = month_table(settings_for(paths))
    latest = sample_months()[-1]
    assert latest in table
    assert "World (all partners)" in table and "United States" in table


def test_rerunning_a_month_through_the_dag_changes_nothing(demo_copy):
    before = _serving_rows(demo_copy)
    (outcome,) = run_months(settings_for(demo_copy), ["2025-09"], report=lambda _: None)
    assert outcome.ok, outcome.error
    assert _serving_rows(demo_copy) == before


# --- the monthly brief, on the demo's serving.duckdb ------------------------------------------------


def _mart_row(serving_db, month: str, partner: str) -> tuple:
    with duckdb.connect(str(serving_db), read_only=True) as con:
        row = con.execute(
            "select quantity_t, mom_pct, yoy_pct, share_of_world_pct from marts.fct_magnet_exports_monthly "
            "where month = ? and partner_code = ?",
            [Month.parse(month).first_day, partner],
        ).fetchone()
    assert row is not None, (month, partner)
    return row


def _one_decimal(value) -> str:
    return str(abs(Decimal(str(value))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def test_the_demo_wrote_the_brief_of_every_month_whole(demo):
    from PIL import Image

    paths, _ = demo
    for month in sample_months():
        for kind in ("md", "html", "png"):
            assert (paths.briefs / f"{month}.{kind}").stat().st_size > 0, (month, kind)
    png = (paths.briefs / "2025-09.png").read_bytes()
    with Image.open(io.BytesIO(png)) as image:
        image.verify()
    with Image.open(io.BytesIO(png)) as image:
        assert image.size[0] == 1000 and 500 <= image.size[1] <= 900
    markdown = (paths.briefs / "2025-09.md").read_text(encoding="utf-8")
    page = (paths.briefs / "2025-09.html").read_text(encoding="utf-8")
    assert "](2025-09.png)" in markdown and '<img src="2025-09.png"' in page
    for sentence in brief.read_brief(paths.serving_db, "2025-09").sentences:
        assert brief.markdown_escape(sentence) in markdown
    assert "| United States | 420.5 | -28.7 |" in markdown


def test_every_brief_the_demo_wrote_reads_the_same_as_of_its_day(demo):
    """A brief is written as of the day of its month's latest release (printed under its title):
    re-read as of that day, after every later release was published, it says the same; and the
    dbt macro as_of of that day gives the tonnes its sentences state."""
    from datetime import datetime

    from critmin.analyses import compile_analyses
    from critmin.brief.model import format_tonnes
    from critmin.serving import open_serving

    paths, _ = demo
    placeholder = "1999-12-31"
    (sql,) = compile_analyses(settings_for(paths), ["trade_as_of"], {"as_of": placeholder}).values()
    written = sorted(paths.briefs.glob("*.md"))
    assert len(written) >= len(sample_months())
    with open_serving(paths.serving_db) as con:  # as the brief opens it: one configuration per file
        for markdown in written:
            text = markdown.read_text(encoding="utf-8")
            found = re.search(r"^\*Figures as published by (\d+ \w+ \d{4})\.\*$", text, re.MULTILINE)
            assert found, f"{markdown.name} says which day its figures are as of"
            day = datetime.strptime(found[1], "%d %B %Y").date()
            again = brief.read_brief(paths.serving_db, markdown.stem, as_of=day)
            assert again.as_of == day
            for sentence in again.sentences:
                assert brief.markdown_escape(sentence) in text, (markdown.name, sentence)
            month = Month.parse(markdown.stem).first_day
            known = con.execute(
                "select partner_code, series_id, period_kind, figure "
                f"from ({sql.replace(placeholder, day.isoformat())}) "
                "where period_end = ? and measure = 'quantity_t' and period_kind in ('month', 'jan_feb') "
                "and (partner_code is null or partner_code = '000')",
                [month],
            ).fetchall()
            assert known, markdown.name
            for partner, series, kind, tonnes in known:
                if (
                    partner is None
                    and kind == "jan_feb"
                    and any(s == series and k == "month" for _, s, k, _ in known)
                ):
                    continue  # the brief tells the single month
                assert format_tonnes(Decimal(str(tonnes))) in text, (markdown.name, series, tonnes)


def test_the_september_2025_brief_says_what_the_marts_say(demo):
    paths, _ = demo
    text = " ".join(brief.read_brief(paths.serving_db, "2025-09").sentences)
    world_t, world_mom, world_yoy, _ = _mart_row(paths.serving_db, "2025-09", "000")
    us_t, us_mom, us_yoy, us_share = _mart_row(paths.serving_db, "2025-09", "502")
    assert world_mom < 0 < world_yoy and us_mom < 0 and us_yoy is None

    exported = f"China exported {world_t:,.0f} tonnes of rare-earth magnets (HS 85051110) in September 2025."
    assert exported in text
    assert (
        f"Total exports fell {_one_decimal(world_mom)}% from August and rose {_one_decimal(world_yoy)}% "
        "from September 2024." in text
    )
    us = f"Exports to the United States fell {_one_decimal(us_mom)}% from August to {us_t:.1f} tonnes."
    assert us in text
    assert "No figure for exports to the United States was published for September 2024" in text
    assert f"The United States took {_one_decimal(us_share)}% of the total." in text
    # The published figures (data/reference/published_magnet_exports.csv and the press).
    assert "Total exports fell 6.1% from August" in text
    assert "Exports to the United States fell 28.7% from August to 420.5 tonnes." in text


def test_the_brief_lists_the_export_control_events_near_its_month(demo):
    paths, _ = demo
    september = brief.read_brief(paths.serving_db, "2025-09")
    with duckdb.connect(str(paths.serving_db), read_only=True) as con:
        near = con.execute(
            "select reference from marts.dim_policy_event "
            "where event_on between '2025-07-01' and '2025-11-30' order by event_on, event_id"
        ).fetchall()
    assert [e.reference for e in september.events_near] == [r for (r,) in near]
    assert "Announcement 18/2025" in [e.reference for e in september.events_in_force]
    assert f"{len(near)} export-control events are recorded from July 2025 to November 2025." in (
        september.sentences
    )


def test_a_brief_whose_comparison_months_are_missing_says_so_and_gives_no_change(demo):
    paths, _ = demo
    april = brief.read_brief(paths.serving_db, "2025-04")
    assert april.headline, "the headline series lead (and have their own changes: GACC printed March)"
    magnets = april.paragraphs[1:3]  # the total, the United States
    text = " ".join(sentence for paragraph in magnets for sentence in paragraph)
    assert "No figure was published for March 2025, so no month-over-month change is given." in text
    assert "No figure was published for April 2024, so no year-over-year change is given." in text
    assert "No figure for exports to the United States was published for April 2025." in text
    assert not re.search(r"\b(rose|fell|unchanged|up|down)\b", text)
    assert not re.search(r"[\d.]+%", text), "no change and no share without their figures"


def test_a_brief_of_a_month_not_in_serving_is_refused(demo, tmp_path):
    paths, _ = demo
    with pytest.raises(brief.BriefError, match=r"2023-09 is not in .*months published: 2023-10, .*2025-04"):
        brief.write_brief(paths.serving_db, tmp_path / "briefs", "2023-09")
    assert not (tmp_path / "briefs").exists()


def test_a_brief_failing_after_the_publish_says_the_month_was_published(demo_copy, capsys):
    from critmin.cli import _run

    shutil.rmtree(demo_copy.briefs)
    demo_copy.briefs.write_text("a file where the briefs folder should be\n")
    assert _run(settings_for(demo_copy), ["2025-09"]) == 1
    message = capsys.readouterr().err
    assert "customs_monthly 2025-09: the month was published, then brief failed." in message


def test_a_bad_month_fails_clearly_and_leaves_serving_untouched(demo_copy):
    serving_before = _digest(demo_copy.serving_db)
    folder = demo_copy.landing_dir("gacc/export", "2026-04")
    folder.mkdir(parents=True)
    (folder / "broken.csv").write_bytes(b'"Commodity code","Quantity","Surprise",\n"85051110","1","x",\n')
    (outcome,) = run_months(settings_for(demo_copy), ["2026-04"], report=lambda _: None)
    assert not outcome.ok
    assert "broken.csv" in outcome.error and "unknown header 'Surprise'" in outcome.error
    assert _digest(demo_copy.serving_db) == serving_before
    assert not (folder / "broken.csv").exists()
    assert list((demo_copy.quarantine / "gacc" / "export" / "2026-04").glob("*broken.csv"))


def test_a_manual_run_of_a_month_without_files_fails_at_once_naming_the_folder(demo_copy):
    """A manual run (dag.test(), make run-month) does not wait for files: wait_for_files fails at
    once, without retry, with land's message, and nothing after it runs."""
    serving_before = _digest(demo_copy.serving_db)
    (outcome,) = run_months(settings_for(demo_copy), ["2026-05"], report=lambda _: None)
    assert not outcome.ok
    assert outcome.failed_tasks == ["wait_for_files"]
    assert outcome.task_states["land"] == "upstream_failed"
    folder = demo_copy.landing_dir("gacc/export", "2026-05")
    assert f"{folder}: no files have been landed for 2026-05 [rule month_has_files]" in outcome.error
    assert outcome.seconds < 120
    assert _digest(demo_copy.serving_db) == serving_before


def test_a_second_download_of_a_month_replaces_without_doubling(demo_copy):
    """The same figures downloaded again, in other bytes (UTF-8, another name): no tonne doubles,
    and the served rows now trace to the newer download."""
    before = {(m, c): t for m, c, t, *_ in _serving_rows(demo_copy)}
    folder = land_sample_month(demo_copy, "2025-12")
    original = folder / "85051110_by_partner.csv"
    again = folder / "85051110_by_partner (1).csv"
    again.write_text(original.read_bytes().decode("gb18030"), encoding="utf-8")
    (outcome,) = run_months(settings_for(demo_copy), ["2025-12"], report=lambda _: None)
    assert outcome.ok, outcome.error
    rows = _serving_rows(demo_copy)
    assert {(m, c): t for m, c, t, *_ in rows} == before
    newer = hashlib.sha256(again.read_bytes()).hexdigest()
    december_partners = [r for r in rows if r[0] == "2025-12" and r[1] != "000"]
    assert december_partners and {r[-1] for r in december_partners} == {newer}


def test_a_scheduled_run_loads_the_month_before_its_logical_date(demo_copy):
    """No month param, as when the scheduler or a backfill creates the run."""
    from critmin.embedded import load_dag, scheduled_date

    dag = load_dag("customs_monthly")
    run = dag.test(logical_date=scheduled_date(Month(2025, 9)), run_conf={"month": None})
    assert run.state == "success"
    instances = {ti.task_id: ti for ti in run.get_task_instances()}
    assert {ti.state for ti in instances.values()} == {"success"}
    assert instances["land"].xcom_pull(task_ids="land") == "2025-09"


def test_dbt_unit_tests_of_the_mart_logic_pass(demo_copy):
    """The month-over-month / year-over-year unit tests beside the fact model, gaps included."""
    from critmin.transform import run_dbt

    results = run_dbt(settings_for(demo_copy), ["test", "--select", "test_type:unit"])
    names = sorted(r.node.name for r in results.results)
    assert names == [
        "test_an_unknown_quantity_makes_the_sum_unknown",
        "test_customs_vintages_are_kept_once_per_change",
        "test_mom_across_the_year_boundary_and_a_zero_base",
        "test_mom_and_yoy_are_null_across_gaps",
        "test_overlapping_downloads_are_not_counted_twice",
        "test_rows_are_summed_per_file_version",
        "test_units_names_and_provenance",
    ]
    assert {str(r.status) for r in results.results} == {"pass"}


def test_the_demo_passes_every_critical_check_and_may_2025_is_a_warning(demo):
    paths, _ = demo
    with duckdb.connect(str(paths.serving_db), read_only=True) as con:
        failed_critical = con.execute(
            "select * from marts.data_quality_results where severity = 'critical' and not success"
        ).fetchall()
        checked_months = con.execute(
            "select distinct strftime(month, '%Y-%m') from marts.data_quality_results "
            "where dataset like 'gacc_export%' or dataset like 'fct_magnet%' order by 1"
        ).fetchall()
        checked_releases = con.execute(
            "select distinct strftime(month, '%Y-%m') from marts.data_quality_results "
            "where dataset like 'gacc_table%' order by 1"
        ).fetchall()
        may_swing = con.execute(
            "select success from marts.data_quality_results where month = '2025-05-01' "
            "and batch = '2025-05' and expectation = 'mom_swing_within_50_pct'"
        ).fetchall()
        may_failures = con.execute(
            "select expectation, severity from marts.data_quality_results "
            "where month = '2025-05-01' and dataset = 'fct_magnet_exports_monthly' and not success"
        ).fetchall()
    assert failed_critical == []
    assert [m for (m,) in checked_months] == sample_months()
    tables = sorted(p.name for p in (SAMPLE_LANDING / "gacc" / "tables").iterdir() if p.is_dir())
    assert [m for (m,) in checked_releases] == tables
    assert may_swing == [(False,)]
    assert may_failures == [("mom_swing_within_50_pct", "warning")], "May 2025 is a warning, nothing else"
    # The registers come first in the demo: the warning names the export-control events near the
    # month, from marts.dim_policy_event.
    log = (paths.home / "logs" / "customs_monthly" / "2025-05.log").read_text(encoding="utf-8")
    assert "mom_swing_within_50_pct" in log and "Announcement 18/2025" in log
    assert (paths.quality_docs / "index.html").exists()


def test_the_demo_publishes_the_agreements_and_the_timeline(demo):
    paths, _ = demo
    with duckdb.connect(str(paths.serving_db), read_only=True) as con:
        agreements = con.execute("select count(*) from marts.fct_mineral_agreements").fetchone()[0]
        australia = con.execute(
            "select headline_amount_usd, headline_qualifier from marts.fct_mineral_agreements "
            "where agreement_id = '2025-10-20-us-australia'"
        ).fetchall()
        may = con.execute(
            "select exports_world_t, exports_us_t from marts.mart_supply_timeline where month = '2025-05-01'"
        ).fetchall()
        february = con.execute(
            "select exports_world_t from marts.mart_supply_timeline where month = '2025-02-01'"
        ).fetchall()
    assert agreements == 11
    assert australia == [(Decimal("8500000000.00"), "up_to")]
    assert may == [(Decimal("1238.47"), Decimal("46.4"))]
    assert february == [(None,)], "a month without a published figure stays NULL"


def test_a_backfill_runs_each_landed_month_of_a_range_in_one_process(demo_copy, capsys):
    """`make backfill FROM=2024-08 TO=2024-10`: the months with files run one after the other in
    this process (one Airflow start); the month without files is named and stays missing; rerun
    unchanged, the published months are what they were."""
    from critmin.cli import main

    before = _serving_rows(demo_copy)
    assert main(["backfill", "2024-08", "2024-10"]) == 0
    out = capsys.readouterr().out
    assert "1 of the 3 months (2024-08): not run, they stay missing" in out
    assert re.search(r"\[1/2\] customs_monthly 2024-09: success", out)
    assert re.search(r"\[2/2\] customs_monthly 2024-10: success", out)
    assert out.count("Starting Airflow (embedded") == 1, "one start for the whole range"
    assert _serving_rows(demo_copy) == before


def test_the_docs_landing_page_and_every_page_it_links_open_offline_in_a_browser(demo_copy):
    """After the demo and `make docs`: docs/index.html in Chromium with the network cut, each of its
    links followed (the dbt docs, the Data Docs, the latest brief), each page showing its content
    with nothing requested outside the files and no console error (issue 22)."""
    from browser import local_only, offline_chromium

    from critmin.docs import build_dbt_docs, docs_index
    from critmin.settings import Settings

    settings = Settings.for_home(demo_copy.home)
    build_dbt_docs(settings)  # what `make docs` runs; it rewrites docs/index.html too
    # What each linked page must show once it has rendered (a script returning it, else falsy).
    shows = {
        "dbt/index.html": "return document.body.innerText.includes('Query serving.duckdb, read-only')",
        "quality/index.html": "return document.querySelectorAll('table tbody tr[data-index]').length",
        "brief": "const img = document.querySelector('img'); "
        "return img && img.complete && img.naturalWidth > 0 && document.body.innerText",
    }
    with offline_chromium() as browser:
        browser.open(docs_index(demo_copy).as_uri())
        links = browser.script(
            "return [...document.querySelectorAll('a[href]')].map(a => [a.getAttribute('href'), a.href])"
        )
        browser.screenshot("docs-index")
        assert [href for href, _ in links] == [
            "dbt/index.html",
            "quality/index.html",
            f"../briefs/{max(p.stem for p in demo_copy.briefs.glob('*.html'))}.html",
        ]
        assert local_only(browser.requests()) == [] and browser.console_errors() == []
        for href, url in links:
            key = "brief" if href.startswith("../briefs/") else href
            browser.open(url)
            seen = browser.wait_for(f"the page {href}", shows[key], timeout=60)
            if key == "dbt/index.html":  # a mart's page, with its documented columns
                browser.open(url + "#!/model/model.critmin.fct_magnet_exports_monthly")
                browser.wait_for(
                    "a mart's page in the dbt docs",
                    "return document.body.innerText.includes('Quantity exported, in kilograms')",
                    timeout=60,
                )
            browser.screenshot(f"docs-{key}")
            if key == "quality/index.html":  # 10 rows a page, and how many in all
                listed = browser.script("return document.querySelector('.pagination-info').innerText")
                total = re.search(r"of (\d+) rows", listed)
                assert total and int(total[1]) >= 49, listed  # at least one validation per demo run
            if key == "brief":
                assert "China exported" in seen and "tonnes of rare earths" in seen, seen[:1000]
            assert local_only(browser.requests()) == [], href
            # dbt's page binds its icons with src="{{ ... }}" (not ng-src): under file:// Chromium
            # logs each literal as an unsafe URL before Angular fills it in. The icons then show.
            errors = [e for e in browser.console_errors() if "getIcon(item.type" not in e]
            assert errors == [], (href, errors[:5])
