"""The benchmark's arithmetic and its report: percentiles, the targets, and ``docs/benchmarks.md``.

Pure functions of the measurements (no I/O but ``main``), so the report can be re-rendered from
``bench/results/latest.json`` alone:

    python -m bench.report                     # bench/results/latest.json -> docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "latest.json"
DOC = REPO / "docs" / "benchmarks.md"

#: The DAG's tasks in run order, and what each one spends its time on.
STEPS: dict[str, str] = {
    "wait_for_files": "wait_for_files (a manual run never waits)",
    "land": "land (raw zone, reader check, GX landing docs)",
    "gate_raw": "gate_raw (GX on the raw rows)",
    "load": "load (reader, DuckDB insert)",
    "transform": "transform (dbt build)",
    "gate_marts": "gate_marts (GX + dbt)",
    "publish": "publish (serving.duckdb)",
    "brief": "brief (Markdown, HTML, chart)",
}
#: What a run spends outside its tasks: Python and Airflow imports, the metadata database, the DAG
#: parse, the in-process execution API (critmin.execution_api) and dag.test()'s bookkeeping before
#: the first task, between tasks and after the last.
OVERHEAD = "overhead"
OVERHEAD_LABEL = "Airflow start and process overhead"

MIB = 1 << 20
GIB_IN_MIB = 1024


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` (0..1) percentile with linear interpolation between the closest ranks
    (numpy's default): p50 of [1, 2, 3, 4] is 2.5, p95 of 1..20 is 19.05."""
    if not values:
        raise ValueError("no values")
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be within 0..1, not {fraction}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: list[float]) -> float:
    return statistics.median(values)


def step_seconds(run: dict[str, Any]) -> dict[str, float]:
    """A run's seconds per step, the overhead (wall time not in any task) first."""
    steps = run.get("steps") or {}
    seconds = {OVERHEAD: run["wall_s"] - sum(steps.values())}
    seconds.update({name: steps.get(name, 0.0) for name in STEPS})
    return seconds


def median_steps(runs: list[dict[str, Any]]) -> dict[str, float]:
    per_run = [step_seconds(run) for run in runs]
    return {name: median([seconds[name] for seconds in per_run]) for name in per_run[0]}


def marginal(big: float, tiny: float, rows: int) -> float:
    """Seconds per million rows beyond the fixed cost."""
    return (big - tiny) / (rows / 1e6)


def label(step: str) -> str:
    return OVERHEAD_LABEL if step == OVERHEAD else STEPS.get(step, step)


def dominant(seconds: dict[str, float], total: float, top: int = 3) -> str:
    """The largest contributors to ``total`` as text: 'land 12.0 s (40%), ...'."""
    ranked = sorted(((value, name) for name, value in seconds.items() if value > 0), reverse=True)[:top]
    return ", ".join(f"{label(name)} {value:.1f} s ({100 * value / total:.0f}%)" for value, name in ranked)


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """The derived numbers: fixed overhead, marginal cost, per-step medians and deltas."""
    rows = results["parameters"]["rows"]
    pipeline, baseline = results["pipeline"], results["baseline"]
    fixed = median([run["wall_s"] for run in pipeline["tiny_runs"]])
    fixed_base = median([run["wall_s"] for run in baseline["tiny_runs"]])
    marginal_pipe = marginal(pipeline["month_1"]["wall_s"], fixed, rows)
    marginal_base = marginal(baseline["month_1"]["wall_s"], fixed_base, rows)
    tiny_steps = median_steps(pipeline["tiny_runs"])
    month_1_steps = step_seconds(pipeline["month_1"])
    month_120_steps = step_seconds(pipeline["month_120"]) if pipeline.get("month_120") else None
    tiny_walls = [run["wall_s"] for run in pipeline["tiny_runs"]]
    return {
        "pipeline": {
            "fixed_s": fixed,
            "marginal_s_per_million_rows": marginal_pipe,
            # how far apart the tiny runs were, per million rows: the marginal cost's uncertainty
            "marginal_noise_s_per_million_rows": (max(tiny_walls) - min(tiny_walls)) / (rows / 1e6),
        },
        "baseline": {"fixed_s": fixed_base, "marginal_s_per_million_rows": marginal_base},
        "limits": limits(results, fixed, marginal_pipe),
        "marginal_ratio": marginal_pipe / marginal_base if marginal_base > 0 else math.inf,
        "fixed_ratio": fixed / fixed_base if fixed_base > 0 else math.inf,
        "steps": {
            "tiny_median": tiny_steps,
            "month_1": month_1_steps,
            "marginal_per_million_rows": {
                name: marginal(month_1_steps[name], tiny_steps[name], rows) for name in tiny_steps
            },
            "month_120": month_120_steps,
            "month_120_minus_month_1": (
                {name: month_120_steps[name] - month_1_steps[name] for name in month_1_steps}
                if month_120_steps
                else None
            ),
        },
    }


#: Where a monthly run stops being a comfortable single-host job (issue "Scale", point 4).
RUN_LIMIT_S = 600.0
MEMORY_LIMIT_MIB = 2048.0


def limits(results: dict[str, Any], fixed_s: float, marginal_s_per_million: float) -> dict[str, Any]:
    """From the measurements, the rows a month and the months of history at which a monthly run
    passes 10 minutes or 2 GiB on this machine: straight-line extrapolations of what was measured
    (time and memory against rows a month; time against months of history), so indicative only."""
    rows = results["parameters"]["rows"]
    pipeline = results["pipeline"]
    tiny_peak = max(run["peak_rss_mib"] for run in pipeline["tiny_runs"])
    big_peak = pipeline["month_1"]["peak_rss_mib"]
    further = results["memory"].get("mib_per_further_million_rows")
    if further is not None:  # measured between two big months: 1x and 3x the rows (bench.run)
        memory_slope = further
        memory_base, memory_base_rows = big_peak, rows
    else:
        memory_slope = (big_peak - tiny_peak) / (rows / 1e6)  # MiB per million rows
        memory_base, memory_base_rows = tiny_peak, 0
    history = results.get("history") or {}
    month_1_s = pipeline["month_1"]["wall_s"]
    growth = None
    if history.get("month_120_s") is not None:
        difference = history["month_120_s"] - history["month_1_s"]
        # Within the noise (the tiny runs' spread, or 5% of the run), no growth is measurable.
        tiny_walls = [run["wall_s"] for run in pipeline["tiny_runs"]]
        noise = max(max(tiny_walls) - min(tiny_walls), 0.05 * month_1_s)
        if difference > noise:
            months_apart = history["filled_months"] - history["months_before_month_1"]
            growth = difference / months_apart  # seconds per month kept
    return {
        "run_limit_s": RUN_LIMIT_S,
        "memory_limit_mib": MEMORY_LIMIT_MIB,
        "rows_a_month_at_run_limit": (
            (RUN_LIMIT_S - fixed_s) / marginal_s_per_million * 1e6 if marginal_s_per_million > 0 else None
        ),
        "memory_mib_per_million_rows": memory_slope,
        "rows_a_month_at_memory_limit": (
            memory_base_rows + (MEMORY_LIMIT_MIB - memory_base) / memory_slope * 1e6
            if memory_slope > 0
            else None
        ),
        "seconds_per_month_of_history": growth,
        "months_of_history_at_run_limit": (
            (RUN_LIMIT_S - month_1_s) / growth if growth is not None and growth > 0 else None
        ),
    }


def _target(name, description, value, target, unit, bound_by, note=""):
    met = value <= target
    return {
        "name": name,
        "description": description,
        "value": value,
        "target": target,
        "unit": unit,
        "met": met,
        "ratio": value / target if target else math.inf,
        "bound_by": "" if met else bound_by,
        "note": note,
    }


def evaluate_targets(results: dict[str, Any], summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the "Scale" issue: value, target, met, ratio (value / target), and, when
    missed, what bounds it (from the per-step numbers). Reported, never asserted."""
    params = results["parameters"]
    rows = params["rows"]
    quick_note = (
        f"QUICK mode: measured at {rows:,} rows a month, not 1,000,000 (run `make bench`)"
        if rows != 1_000_000
        else ""
    )
    steps = summary["steps"]
    targets = []

    per_step = steps["marginal_per_million_rows"]
    base_phases = results["baseline"]["month_1"].get("phases") or {}
    base_tiny = results["baseline"]["tiny_runs"][0].get("phases") or {}
    base_marginal = {
        name: marginal(base_phases.get(name, 0.0), base_tiny.get(name, 0.0), rows)
        for name in ("transcode", "read_and_load", "mart")
    }
    targets.append(
        _target(
            "marginal_cost_ratio",
            "Marginal seconds per million rows, pipeline / plain-DuckDB baseline",
            summary["marginal_ratio"],
            1.5,
            "x",
            f"pipeline {summary['pipeline']['marginal_s_per_million_rows']:.1f} s per million rows vs "
            f"baseline {summary['baseline']['marginal_s_per_million_rows']:.1f} s; of the pipeline's, "
            + dominant(per_step, sum(v for v in per_step.values() if v > 0))
            + "; the baseline's: "
            + ", ".join(f"{name} {value:.1f} s" for name, value in base_marginal.items()),
            quick_note,
        )
    )
    tiny = steps["tiny_median"]
    targets.append(
        _target(
            "fixed_overhead_s",
            "Fixed overhead: `critmin run-month` of a tiny month, whole process, warm home",
            summary["pipeline"]["fixed_s"],
            12.0,
            "s",
            dominant(tiny, sum(tiny.values()), top=4),
        )
    )
    history = results.get("history") or {}
    if history.get("month_120_s") is not None:
        delta = steps["month_120_minus_month_1"] or {}
        grown = {name: value for name, value in delta.items() if value > 0}
        targets.append(
            _target(
                "history_growth_ratio",
                "Month 120 / month 1 (same rows a month, 119 months before month 120)",
                history["month_120_s"] / history["month_1_s"],
                1.2,
                "x",
                f"month 120 took {history['month_120_s'] - history['month_1_s']:+.1f} s more; the steps that "
                "grew: " + (dominant(grown, sum(grown.values())) if grown else "none"),
                quick_note,
            )
        )
    memory = results["memory"]
    targets.append(
        _target(
            "peak_memory_gib",
            "Peak resident memory of a monthly run (whole process tree)",
            memory["peak_rss_mib"] / GIB_IN_MIB,
            0.75,
            "GiB",
            f"the peak was sampled during {label(memory.get('peak_step') or '?')}",
            quick_note,
        )
    )
    if memory.get("mib_per_further_million_rows") is not None:
        targets.append(
            _target(
                "memory_per_further_million_gib",
                f"Peak memory per further million rows ({memory['rows']:,} to "
                f"{memory['rows_3x']:,} rows a month)",
                memory["mib_per_further_million_rows"] / GIB_IN_MIB,
                0.1,
                "GiB",
                f"{memory['peak_rss_mib']:,.0f} MiB at {memory['rows']:,} rows "
                f"({label(memory.get('peak_step') or '?')}), {memory['peak_rss_3x_mib']:,.0f} MiB at "
                f"{memory['rows_3x']:,} rows ({label(memory.get('peak_step_3x') or '?')})",
                quick_note,
            )
        )
    backfill = results.get("backfill")
    if backfill:
        targets.append(
            _target(
                "backfill_s_per_month",
                f"Backfill of {backfill['months']} tiny months in one process: "
                "seconds a month after the first",
                backfill["per_month_after_first_s"],
                4.0,
                "s",
                f"each run's own steps in the warm process (median "
                f"{backfill['median_run_after_first_s']:.1f} s a run: the dbt build, the two gates, "
                "publish, the brief, Airflow's bookkeeping between tasks; per step in docs/scaling.md)",
            )
        )
    bi = results.get("bi") or {}
    if bi.get("queries"):
        slowest = max(bi["queries"], key=lambda query: query["p95_ms"])
        targets.append(
            _target(
                "bi_p95_ms",
                f"BI queries on serving.duckdb with {bi.get('serving_months')} months: slowest p95",
                slowest["p95_ms"],
                100.0,
                "ms",
                f"{slowest['name']} (p95 {slowest['p95_ms']:.1f} ms, {slowest['rows']} rows)",
            )
        )
    return targets


# --- Markdown -------------------------------------------------------------------------------------


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _table(header: list[str], rows: list[list[str]], right: set[int] | None = None) -> list[str]:
    right = right if right is not None else set(range(1, len(header)))
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _value(target: dict[str, Any]) -> str:
    unit = target["unit"]
    digits = 2 if unit in ("x", "GiB") else 1
    return f"{target['value']:,.{digits}f} {unit}".replace(" x", "x")


def render(results: dict[str, Any]) -> str:
    """docs/benchmarks.md from the results."""
    params, machine = results["parameters"], results["machine"]
    summary, targets = results["summary"], results["targets"]
    rows = params["rows"]
    quick = results["mode"] == "quick"
    dirty = ", uncommitted changes" if results["git"].get("dirty") else ""
    out = [
        "# Benchmarks",
        "",
        f"Generated by `make bench{' QUICK=1' if quick else ''}` on {results['generated_at'][:10]} "
        f"(git {results['git']['commit'][:12]}{dirty}) "
        f"from [`bench/results/latest.json`](../bench/results/latest.json): **{results['mode']} mode**, "
        f"{rows:,} rows a month, the whole run took {results['wall_s'] / 60:.1f} minutes. "
        "Do not edit by hand: `make bench` rewrites it.",
        "",
        "> **All data here is SYNTHETIC**: random numbers in the real GACC file format and code lists, "
        f"written by `bench.synthetic` with seed {params['seed']} (`SYNTHETIC_*.csv`). "
        "None of it is a published figure; it measures speed and memory only.",
        "",
        "## How to reproduce",
        "",
        "```bash",
        "make bench QUICK=1   # about 5 minutes on 2 cores: 200,000 rows a month",
        "make bench           # the full run, 1,000,000 rows a month: about 8 minutes on 2 cores",
        "```",
        "",
        "Each run writes `bench/results/latest.json` and this page (`python -m bench.report` re-renders",
        "the page from the JSON). Everything runs in a temporary directory that is deleted at the end,",
        "never in `warehouse/`. Timings are wall-clock seconds of whole processes; the targets are",
        "reported here and never asserted by the tests.",
    ]
    if quick:
        out += [
            "",
            f"**QUICK mode** measures at {rows:,} rows a month instead of 1,000,000: the marginal cost is",
            "still per million rows, but the history and memory targets are for 1,000,000 rows a month and",
            "are only indicative here.",
        ]
    load = machine.get("load_average") or {}
    out += [
        "",
        "## Machine",
        "",
        *_table(
            ["", ""],
            [
                ["CPU", f"{machine['cpu_model']} ({machine['cpu_count']} cores)"],
                ["Memory", f"{machine['memory_gib']:.1f} GiB"],
                ["OS", machine["os"]],
                ["Python", machine["python"]],
                *[[name, version] for name, version in machine["packages"].items()],
                [
                    "Load average (1 min) at start / end",
                    f"{load.get('start', float('nan')):.2f} / {load.get('end', float('nan')):.2f}",
                ],
            ],
            right=set(),
        ),
        "",
        "The load average says whether other work shared the machine during the run.",
        "",
        "## Targets",
        "",
        *_table(
            ["target", "measured", "goal", "met", "measured / goal", "what bounds it"],
            [
                [
                    t["description"],
                    _value(t),
                    f"≤ {t['target']:g} {t['unit']}".replace(" x", "x"),
                    "yes" if t["met"] else "**no**",
                    f"{t['ratio']:.2f}",
                    "; ".join(part for part in (t["bound_by"], t["note"]) if part) or "—",
                ]
                for t in targets
            ],
            right={1, 2, 4},
        ),
    ]
    pipe, base = summary["pipeline"], summary["baseline"]
    out += [
        "",
        "## Fixed overhead and marginal cost",
        "",
        "The same SYNTHETIC files go through the pipeline (`critmin run-month`: land, gate, load,",
        "transform, gate, publish, brief, with the embedded Airflow) and through the baseline,",
        "`bench/baseline.py`: a plain Python script with DuckDB doing the same parsing, loading and mart",
        "SQL with no orchestrator and no gates. Fixed overhead: the median whole-process time of a tiny",
        f"month ({params['tiny_rows']} rows, {params['tiny_repeats']} runs) on a warm home (a month already "
        "built).",
        f"Marginal cost: (time of a {rows:,}-row month - fixed) / {rows / 1e6:g} million rows.",
        "",
        *_table(
            ["", "pipeline", "baseline", "pipeline / baseline"],
            [
                [
                    "fixed overhead, s",
                    _seconds(pipe["fixed_s"]),
                    f"{base['fixed_s']:.2f}",
                    f"{summary['fixed_ratio']:.0f}x",
                ],
                [
                    f"month of {rows:,} rows, s",
                    _seconds(results["pipeline"]["month_1"]["wall_s"]),
                    f"{results['baseline']['month_1']['wall_s']:.2f}",
                    "",
                ],
                [
                    "marginal, s per million rows",
                    _seconds(pipe["marginal_s_per_million_rows"]),
                    f"{base['marginal_s_per_million_rows']:.2f}",
                    f"{summary['marginal_ratio']:.1f}x",
                ],
                [
                    "first run on a new home, s",
                    _seconds(results["pipeline"]["cold_first_run"]["wall_s"]),
                    f"{results['baseline']['cold_first_run']['wall_s']:.2f}",
                    "",
                ],
            ],
        ),
        "",
        "The first run on a new home also creates the Airflow metadata database and builds every dbt model",
        "(seeds included); it is not part of the fixed overhead. The marginal cost is the difference of",
        f"two whole runs over {rows / 1e6:g} million rows: the tiny runs' spread alone moves it by "
        f"±{pipe.get('marginal_noise_s_per_million_rows', 0):.1f} s per million rows "
        f"(the machine's load average is above).",
    ]
    steps = summary["steps"]
    history = results.get("history") or {}
    columns = [
        ("tiny month (median)", steps["tiny_median"]),
        (f"{rows:,} rows (month 1)", steps["month_1"]),
        ("marginal per million rows", steps["marginal_per_million_rows"]),
    ]
    if steps.get("month_120"):
        columns += [
            ("month 120", steps["month_120"]),
            ("month 120 - month 1", steps["month_120_minus_month_1"]),
        ]
    order = [OVERHEAD, *STEPS]
    table_rows = [[label(name), *(_seconds(col[name]) for _, col in columns)] for name in order]
    table_rows.append(
        [
            "**whole process (wall)**",
            _seconds(pipe["fixed_s"]),
            _seconds(results["pipeline"]["month_1"]["wall_s"]),
            _seconds(pipe["marginal_s_per_million_rows"]),
            *(
                [
                    _seconds(history.get("month_120_s")),
                    _seconds(history["month_120_s"] - history["month_1_s"]),
                ]
                if steps.get("month_120")
                else []
            ),
        ]
    )
    overhead = results["pipeline"]["month_1"].get("overhead") or {}
    checked = " (checked: each task's pid is the process's)."
    out += [
        "",
        "## Where the time goes",
        "",
        "Seconds per step of the `customs_monthly` DAG run, from the task instances' durations in the",
        "embedded Airflow's metadata database; the first row is the whole process's wall time not spent",
        "in any task (Python and Airflow imports, the metadata database, the DAG parse, dag.test()'s",
        "bookkeeping). Every task runs in the `critmin run-month` process itself"
        + (checked if results["pipeline"].get("tasks_in_process") else "."),
        "",
        *_table(["step", *(name for name, _ in columns)], table_rows),
    ]
    if overhead:
        out += [
            "",
            f"Of the overhead of the {rows:,}-row run, {overhead.get('before_first_task_s', 0):.1f} s come "
            "before the first task (Airflow start), "
            f"{overhead.get('between_tasks_s', 0):.1f} s between tasks and "
            f"{overhead.get('after_last_task_s', 0):.1f} s after the last one (printing the month, exit).",
        ]
    base_phases = results["baseline"]["month_1"].get("phases") or {}
    if base_phases:
        out += [
            "",
            f"The baseline's {rows:,}-row month: "
            + ", ".join(f"{name.replace('_', ' ')} {value:.2f} s" for name, value in base_phases.items())
            + ".",
        ]
    if history:
        months = params.get("months") or {}
        out += [
            "",
            "## History growth",
            "",
            f"Month 1 and month 120 have {rows:,} rows each and run through the same pipeline on the same",
            f"home. Month 1 ({months.get('month_1', '?')}) runs when the home holds nothing but the tiny "
            f"warm-up month ({months.get('warm_up', '?')}, the",
            f"first run, which builds every model) and the {params['tiny_repeats']} tiny months of the "
            "fixed-overhead runs. Then the",
            f"warehouse's raw tables are emptied and filled with {history['filled_months']} SYNTHETIC months "
            f"({months.get('filled', '?')}, {history['filled_rows']:,} rows),",
            "written straight into `raw.gacc_export_rows` and `raw.gacc_export_files` by `bench/history.py`",
            "(one synthetic month repeated with a seeded factor per month, not through the pipeline), every",
            f"model is built once ({_seconds(history.get('fill_s'))} s for the fill, "
            f"{_seconds(history.get('whole_build_s'))} s for the whole build), and month 120",
            f"({months.get('month_120', '?')}) is run from SYNTHETIC downloads. The home also holds "
            f"{history.get('validation_results', 0):,} stored",
            "Great Expectations results for the filled months (copies of month 1's, labelled SYNTHETIC), as",
            "a real home keeps every validation of every month and each run's Data Docs update lists them.",
            "",
            *_table(
                ["", "month 1", "month 120", "month 120 / month 1"],
                [
                    [
                        "whole process, s",
                        _seconds(history["month_1_s"]),
                        _seconds(history.get("month_120_s")),
                        f"{history['month_120_s'] / history['month_1_s']:.2f}x",
                    ],
                    [
                        "months in the warehouse before the run",
                        str(history.get("months_before_month_1", "")),
                        str(history["filled_months"]),
                        "",
                    ],
                    [
                        "dbt build of the run",
                        results["pipeline"]["month_1"].get("build") or "?",
                        results["pipeline"]["month_120"].get("build") or "?",
                        "",
                    ],
                ],
            ),
        ]
    out += _limits_section(results)
    memory = results["memory"]
    out += [
        "",
        "## Peak memory",
        "",
        "Peak resident memory (the kernel's maximum RSS of the process and every child it waited for) of",
        f"the {memory['rows']:,}-row monthly run: **{memory['peak_rss_mib']:,.0f} MiB**, reached during "
        f"{label(memory.get('peak_step') or '?')} (by RSS sampled every "
        f"{memory.get('sample_interval_s', 0.2)} s).",
        "",
        *_table(
            ["run", "peak RSS, MiB"],
            [[name, f"{value:,.0f}"] for name, value in memory.get("by_run", {}).items()],
        ),
    ]
    if memory.get("mib_per_further_million_rows") is not None:
        out += [
            "",
            f"From {memory['rows']:,} to {memory['rows_3x']:,} rows a month the peak grew by "
            f"{memory['peak_rss_3x_mib'] - memory['peak_rss_mib']:,.0f} MiB: "
            f"**{memory['mib_per_further_million_rows']:,.0f} MiB per further million rows** "
            f"(the month of {memory['rows_3x']:,} rows peaked during "
            f"{label(memory.get('peak_step_3x') or '?')}).",
        ]
    out += _backfill_section(results.get("backfill"))
    bi = results.get("bi") or {}
    if bi.get("queries"):
        out += [
            "",
            "## BI query latency",
            "",
            f"Five typical queries of a BI tool (`bench/queries/*.sql`) on `serving.duckdb` with "
            f"{bi['serving_months']} months,",
            "opened as users open it (`critmin.serving.open_serving`: read-only, no external access);",
            f"each query runs once to warm up, then {bi['repeats']} times, fetching every row.",
            "",
            *_table(
                ["query", "rows", "p50 ms", "p95 ms", "max ms"],
                [
                    [
                        f"`{q['name']}`: {q['description']}",
                        f"{q['rows']:,}",
                        f"{q['p50_ms']:.1f}",
                        f"{q['p95_ms']:.1f}",
                        f"{q['max_ms']:.1f}",
                    ]
                    for q in bi["queries"]
                ],
            ),
        ]
    reader = results.get("reader")
    if reader:
        out += [
            "",
            "## Reader",
            "",
            "`critmin.sources.gacc.read.iter_records` on the month's by-partner download: the streaming",
            "reader that defines every row and refusal, which the steps fall back to when their DuckDB",
            "fast path (`critmin.sources.gacc.scan`) declines a file. Its memory should stay flat:",
            "",
            *_table(
                ["rows", "MB", "seconds", "rows/s", "peak Python heap, MiB"],
                [
                    [
                        f"{reader['rows']:,}",
                        f"{reader['file_mb']:.1f}",
                        f"{reader['seconds']:.2f}",
                        f"{reader['rows_per_s']:,.0f}",
                        f"{reader['peak_heap_mib']:.2f}",
                    ]
                ],
            ),
            "",
            "Peak heap is measured in a second pass under tracemalloc (Python allocations only).",
        ]
    out += [""]
    return "\n".join(out)


def _rows(value: float | None) -> str:
    return "not reached (no growth measured)" if value is None else f"about {value / 1e6:,.1f} million"


def _backfill_section(backfill: dict[str, Any] | None) -> list[str]:
    if not backfill:
        return []
    seconds = backfill["run_s"]
    return [
        "",
        "## Many months in one process",
        "",
        f"`critmin backfill {backfill['first']} {backfill['last']}` (what `make backfill` runs) on the",
        f"warm home: {backfill['months']} tiny SYNTHETIC months ({backfill['rows']:,} rows each), each",
        "month its own DAG run with the same gates, lease and publish as a monthly run, in one process",
        "that starts Airflow once.",
        "",
        *_table(
            ["", "seconds"],
            [
                ["whole process (wall)", f"{backfill['wall_s']:.1f}"],
                ["first month's run (imports, DAG parse)", f"{backfill['first_run_s']:.1f}"],
                [
                    f"a month after the first: (wall - first run) / {backfill['months'] - 1}",
                    f"{backfill['per_month_after_first_s']:.2f}",
                ],
                ["runs after the first: median", f"{backfill['median_run_after_first_s']:.2f}"],
                [
                    "runs after the first: fastest / slowest",
                    f"{min(seconds[1:]):.1f} / {max(seconds[1:]):.1f}",
                ],
                ["last month's run", f"{seconds[-1]:.1f}"],
            ],
            right={1},
        ),
        "",
        f"Peak memory of the whole process: {backfill['peak_rss_mib']:,.0f} MiB.",
    ]


def _limits_section(results: dict[str, Any]) -> list[str]:
    found = results["summary"].get("limits")
    if not found:
        return []
    history = results.get("history") or {}
    growth = found["seconds_per_month_of_history"]
    months = found["months_of_history_at_run_limit"]
    disk = (
        f"With {history.get('serving_months', 120)} months the build database `warehouse.duckdb` took "
        f"{history['warehouse_mib']:,.0f} MiB on disk and `serving.duckdb` {history['serving_mib']:,.1f} MiB "
        f"(every raw row is kept in the first; only the marts, in the second)."
        if "warehouse_mib" in history
        else ""
    )
    return [
        "",
        "## Where the single-file design stops (on this machine)",
        "",
        "Straight-line extrapolations of the measurements above: indicative, not measured at those",
        "sizes. What to change past them: [scaling.md](scaling.md).",
        "",
        *_table(
            ["limit", "reached at"],
            [
                [
                    f"a monthly run passes {found['run_limit_s'] / 60:.0f} minutes",
                    f"{_rows(found['rows_a_month_at_run_limit'])} rows a month",
                ],
                [
                    f"a monthly run passes {found['memory_limit_mib'] / 1024:.0f} GiB peak memory",
                    f"{_rows(found['rows_a_month_at_memory_limit'])} rows a month "
                    f"({found['memory_mib_per_million_rows']:,.0f} MiB more per million rows)",
                ],
                [
                    f"a monthly run passes {found['run_limit_s'] / 60:.0f} minutes as history grows",
                    "not reached: month 120 costs what month 1 costs, within the noise"
                    if months is None
                    else f"about {months:,.0f} months of history ({growth:+.2f} s per month kept)",
                ],
            ],
        ),
        "",
        disk,
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render docs/benchmarks.md from the results JSON.")
    parser.add_argument("results", type=Path, nargs="?", default=RESULTS)
    parser.add_argument("doc", type=Path, nargs="?", default=DOC)
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text(encoding="utf-8"))
    # the derived numbers again, from the measurements, by this version of the arithmetic
    results["summary"] = summarize(results)
    results["targets"] = evaluate_targets(results, results["summary"])
    args.doc.parent.mkdir(parents=True, exist_ok=True)
    args.doc.write_text(render(results), encoding="utf-8")
    print(args.doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
