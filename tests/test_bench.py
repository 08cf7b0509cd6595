"""The benchmark's pure pieces (bench/): percentiles, the targets, the report, the baseline's SQL.

The benchmark itself (``make bench``) measures and reports; nothing here asserts a timing.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import baseline, report  # noqa: E402

STEPS = {
    "land": 8.0,
    "gate_raw": 1.0,
    "load": 0.2,
    "transform": 6.0,
    "gate_marts": 1.5,
    "publish": 0.3,
    "brief": 1.0,
}


def _run(wall: float, scale: float = 1.0, **extra) -> dict:
    return {
        "wall_s": wall,
        "peak_rss_mib": 600.0 * scale,
        "steps": {name: seconds * scale for name, seconds in STEPS.items()},
        "overhead": {"before_first_task_s": 7.0, "between_tasks_s": 0.5, "after_last_task_s": 0.5},
        "build": "partial (the run's months)",
        **extra,
    }


def _results(rows: int = 200_000) -> dict:
    tiny = [_run(27.0), _run(26.0), _run(28.0)]
    month_1 = _run(60.0, 2.5)
    month_120 = _run(66.0, 2.8)
    base = {"transcode": 0.01, "read_and_load": 0.03, "mart": 0.02}
    return {
        "generated_at": "2026-01-01T00:00:00+00:00",
        "mode": "quick" if rows < 1_000_000 else "full",
        "wall_s": 360.0,
        "git": {"commit": "0123456789abcdef", "dirty": False},
        "machine": {
            "cpu_model": "Test CPU",
            "cpu_count": 2,
            "memory_gib": 23.4,
            "os": "Linux",
            "python": "3.11.2",
            "packages": {"duckdb": "2.0.1"},
            "load_average": {"start": 0.5, "end": 1.5},
        },
        "parameters": {"rows": rows, "tiny_rows": 10, "tiny_repeats": 3, "bi_repeats": 30, "seed": 7},
        "pipeline": {
            "cold_first_run": _run(35.0),
            "tiny_runs": tiny,
            "month_1": month_1,
            "month_120": month_120,
            "tasks_in_process": True,
        },
        "baseline": {
            "cold_first_run": {"wall_s": 0.3},
            "tiny_runs": [{"wall_s": 0.2, "phases": base}, {"wall_s": 0.3, "phases": base}],
            "month_1": {"wall_s": 1.2, "phases": {"transcode": 0.3, "read_and_load": 0.5, "mart": 0.1}},
        },
        "history": {
            "filled_months": 119,
            "filled_rows": 119 * rows,
            "fill_s": 40.0,
            "whole_build_s": 60.0,
            "months_before_month_1": 4,
            "month_1_s": 60.0,
            "month_120_s": 66.0,
            "serving_months": 120,
        },
        "memory": {"rows": rows, "peak_rss_mib": 2600.0, "peak_step": "load", "by_run": {"month 1": 2600.0}},
        "bi": {
            "serving_months": 120,
            "repeats": 30,
            "queries": [
                {"name": "q1", "description": "one", "rows": 30, "p50_ms": 2.0, "p95_ms": 3.0, "max_ms": 4.0},
                {
                    "name": "q2",
                    "description": "two",
                    "rows": 24,
                    "p50_ms": 90.0,
                    "p95_ms": 140.0,
                    "max_ms": 150.0,
                },
            ],
        },
        "reader": {
            "rows": rows,
            "file_mb": 30.0,
            "seconds": 2.0,
            "rows_per_s": rows / 2,
            "peak_heap_mib": 0.5,
        },
    }


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([1.0, 2.0, 3.0, 4.0], 0.5, 2.5),
        ([float(v) for v in range(1, 21)], 0.95, 19.05),
        ([5.0], 0.95, 5.0),
        ([3.0, 1.0, 2.0], 0.0, 1.0),
        ([3.0, 1.0, 2.0], 1.0, 3.0),
    ],
)
def test_percentile_interpolates_linearly_between_ranks(values, fraction, expected):
    assert report.percentile(values, fraction) == pytest.approx(expected)


def test_percentile_refuses_nonsense():
    with pytest.raises(ValueError):
        report.percentile([], 0.5)
    with pytest.raises(ValueError):
        report.percentile([1.0], 95)


def test_fixed_overhead_is_the_median_tiny_run_and_marginal_is_per_million_rows():
    summary = report.summarize(_results())
    assert summary["pipeline"]["fixed_s"] == 27.0
    # (60 - 27) s over 0.2 million rows
    assert summary["pipeline"]["marginal_s_per_million_rows"] == pytest.approx(165.0)
    assert summary["baseline"]["fixed_s"] == pytest.approx(0.25)
    assert summary["baseline"]["marginal_s_per_million_rows"] == pytest.approx((1.2 - 0.25) / 0.2)
    assert summary["marginal_ratio"] == pytest.approx(165.0 / 4.75)
    # the overhead is the wall time outside the tasks
    assert summary["steps"]["tiny_median"]["overhead"] == pytest.approx(27.0 - sum(STEPS.values()))
    assert summary["steps"]["month_120_minus_month_1"]["land"] == pytest.approx(8.0 * 0.3)


def test_targets_say_value_goal_met_ratio_and_what_bounds_a_miss():
    results = _results()
    targets = {t["name"]: t for t in report.evaluate_targets(results, report.summarize(results))}
    assert set(targets) == {
        "marginal_cost_ratio",
        "fixed_overhead_s",
        "history_growth_ratio",
        "peak_memory_gib",
        "bi_p95_ms",
    }
    fixed = targets["fixed_overhead_s"]
    assert (fixed["value"], fixed["target"], fixed["met"]) == (27.0, 12.0, False)
    assert fixed["ratio"] == pytest.approx(27.0 / 12.0)
    assert "Airflow start" in fixed["bound_by"]
    history = targets["history_growth_ratio"]
    assert history["met"] and history["ratio"] == pytest.approx(1.1 / 1.2)
    assert history["bound_by"] == ""
    assert not targets["peak_memory_gib"]["met"]
    assert "load" in targets["peak_memory_gib"]["bound_by"]
    assert not targets["bi_p95_ms"]["met"] and "q2" in targets["bi_p95_ms"]["bound_by"]
    assert "land" in targets["marginal_cost_ratio"]["bound_by"]
    assert "QUICK" in targets["peak_memory_gib"]["note"]


def test_full_mode_targets_carry_no_quick_note():
    results = _results(rows=1_000_000)
    for target in report.evaluate_targets(results, report.summarize(results)):
        assert target["note"] == ""


def test_report_has_the_reproduction_the_machine_and_the_tables():
    results = _results()
    results["summary"] = report.summarize(results)
    results["targets"] = report.evaluate_targets(results, results["summary"])
    json.dumps(results)  # the results are JSON as they are
    text = report.render(results)
    for needle in (
        "make bench QUICK=1",
        "SYNTHETIC",
        "Test CPU (2 cores)",
        "## Targets",
        "## Where the time goes",
        "## History growth",
        "## Peak memory",
        "## BI query latency",
        "## Reader",
        "Airflow start and process overhead",
        "**no**",
    ):
        assert needle in text, needle
    # every table row has as many cells as its header
    for block in text.split("\n\n"):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        if rows:
            assert len({line.count("|") for line in rows}) == 1, block


def test_baseline_months_and_headers():
    assert baseline.shift("2025-01", -1) == date(2024, 12, 1)
    assert baseline.shift("2025-01", 12) == date(2026, 1, 1)
    english = '"Commodity code","Commodity","Quantity","Unit","US dollar",\n'
    assert baseline.columns(english) == {
        "hs8_code": "Commodity code",
        "quantity": "Quantity",
        "unit": "Unit",
        "value_usd": "US dollar",
    }
    chinese = '"商品编码","贸易伙伴编码","第一数量","美元",\n'
    assert set(baseline.columns(chinese)) == {"hs8_code", "partner_code", "quantity", "value_usd"}
    select = baseline.select_list(baseline.columns(english))
    assert "replace(\"Quantity\", ',', '')" in select and "null as partner_code" in select


def test_baseline_loads_a_month_and_computes_the_mart(tmp_path):
    """Two months through the baseline: the partner rows summed, the world total from the
    commodity-only file, the share, and month-over-month against exactly the previous month."""
    files = {}
    for month, (usa, deu) in {"2025-01": (100, 300), "2025-02": (150, 250)}.items():
        by_partner = tmp_path / f"{month}_partners.csv"
        by_partner.write_text(
            '"Commodity code","Trading partner code","Quantity","Unit","US dollar",\n'
            f'"85051110","502","{usa:,}","Kilogram","1,000",\n'
            f'"85051110","304","{deu:,}","Kilogram","2,000",\n'
            '"85051190","502","1,234,567","Kilogram","9",\n',
            encoding="gb18030",
        )
        world = tmp_path / f"{month}_world.csv"
        world.write_text(
            '"Commodity code","Quantity","Unit","US dollar",\n'
            f'"85051110","{usa + deu:,}","Kilogram","3,000",\n',
            encoding="gb18030",
        )
        files[month] = [by_partner, world]
    db = tmp_path / "baseline.duckdb"
    for month, paths in files.items():
        scratch = tmp_path / month
        scratch.mkdir()
        result = baseline.load_month(db, month, paths, scratch)
        assert result["rows"] == 4
    import duckdb

    with duckdb.connect(str(db), read_only=True) as connection:
        rows = connection.execute(
            "select month, partner_code, quantity_kg, mom_pct, share_of_world_pct "
            "from fct_magnet_exports_monthly order by month, partner_code"
        ).fetchall()
    assert [(str(m), p, float(q), mom, share) for m, p, q, mom, share in rows] == [
        ("2025-01-01", "000", 400.0, None, 100.0),
        ("2025-01-01", "304", 300.0, None, 75.0),
        ("2025-01-01", "502", 100.0, None, 25.0),
        ("2025-02-01", "000", 400.0, 0.0, 100.0),
        ("2025-02-01", "304", 250.0, -16.67, 62.5),
        ("2025-02-01", "502", 150.0, 50.0, 37.5),
    ]


def test_limits_extrapolate_time_and_memory_per_row_and_time_per_month_of_history():
    results = _results()
    found = report.summarize(results)["limits"]
    # fixed 27 s, marginal (60 - 27) / 0.2 = 165 s per million rows: 10 minutes at (600 - 27) / 165
    assert found["rows_a_month_at_run_limit"] == pytest.approx(573 / 165 * 1e6)
    # 600 MiB for a tiny month, 1,500 MiB at 200,000 rows: 4,500 MiB per million rows
    assert found["memory_mib_per_million_rows"] == pytest.approx(4500)
    assert found["rows_a_month_at_memory_limit"] == pytest.approx((2048 - 600) / 4500 * 1e6)
    # month 120 is 6 s slower than month 1, with 115 months more before it
    assert found["seconds_per_month_of_history"] == pytest.approx(6 / 115)
    assert found["months_of_history_at_run_limit"] == pytest.approx(540 / (6 / 115))

    results["history"]["month_120_s"] = results["pipeline"]["month_120"]["wall_s"] = 61.0  # noise
    assert report.summarize(results)["limits"]["months_of_history_at_run_limit"] is None
    page = report.render({**results, "summary": report.summarize(results), "targets": []})
    assert "month 120 costs what month 1 costs, within the noise" in page


def _with_3x_and_backfill(results: dict) -> dict:
    rows = results["parameters"]["rows"]
    results["pipeline"]["month_3x"] = _run(120.0, 3.5)  # 2,100 MiB at 3x the rows
    results["memory"].update(
        rows_3x=3 * rows,
        peak_rss_3x_mib=2100.0,
        peak_step_3x="gate_raw",
        mib_per_further_million_rows=(2100.0 - 1500.0) / (2 * rows / 1e6),
    )
    results["backfill"] = {
        "months": 24,
        "first": "2022-01",
        "last": "2023-12",
        "rows": 10,
        "wall_s": 30.0 + 23 * 5.0,
        "peak_rss_mib": 700.0,
        "run_s": [22.0] + [4.5] * 23,
        "first_run_s": 22.0,
        "per_month_after_first_s": (30.0 + 23 * 5.0 - 22.0) / 23,
        "median_run_after_first_s": 4.5,
    }
    return results


def test_memory_per_further_million_rows_and_backfill_are_targets_with_their_sections():
    results = _with_3x_and_backfill(_results())
    summary = report.summarize(results)
    # month 1 peaked at 1,500 MiB (600 x 2.5), the month of 3x rows at 2,100: 600 MiB over 400,000 rows
    assert summary["limits"]["memory_mib_per_million_rows"] == pytest.approx(1500)
    at_limit = summary["limits"]["rows_a_month_at_memory_limit"]
    assert at_limit == pytest.approx(200_000 + (2048 - 1500) / 1500 * 1e6)
    targets = {t["name"]: t for t in report.evaluate_targets(results, summary)}
    further = targets["memory_per_further_million_gib"]
    assert further["value"] == pytest.approx(results["memory"]["mib_per_further_million_rows"] / 1024)
    assert not further["met"] and "gate_raw" in further["bound_by"]
    backfill = targets["backfill_s_per_month"]
    assert backfill["value"] == pytest.approx((145.0 - 22.0) / 23) and not backfill["met"]
    assert "median 4.5 s" in backfill["bound_by"]
    results["backfill"]["per_month_after_first_s"] = 3.9
    met = {t["name"]: t for t in report.evaluate_targets(results, summary)}["backfill_s_per_month"]
    assert met["met"] and met["bound_by"] == ""
    page = report.render({**results, "summary": summary, "targets": list(targets.values())})
    assert "## Many months in one process" in page
    assert "critmin backfill 2022-01 2023-12" in page
    assert "MiB per further million rows" in page


def test_backfill_console_lines_are_read_as_the_runner_prints_them():
    from bench.run import BACKFILL_LINE

    text = (
        "critmin: 2 months to run\n"
        "[ 1/24] customs_monthly 2022-01: success in 21.7 s  (log: /x/2022-01.log)\n"
        "[10/24] customs_monthly 2022-10: failed in 3.2 s  (log: /x/2022-10.log)\n"
        "    the gate refused it\n"
    )
    found = [(m["month"], m["state"], float(m["seconds"])) for m in BACKFILL_LINE.finditer(text)]
    assert found == [("2022-01", "success", 21.7), ("2022-10", "failed", 3.2)]
