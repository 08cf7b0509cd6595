"""``make bench``: the pipeline's monthly run against a plain-DuckDB baseline, on SYNTHETIC data.

    make bench QUICK=1     # ~5 minutes on 2 cores, 200,000 rows a month
    make bench             # the full run, 1,000,000 rows a month (~8 minutes on 2 cores)
    python -m bench.run --quick [--keep]

Measures, in one run and on the same files (``bench.synthetic``, seeded):

1. the baseline (``bench/baseline.py``, its own process): a first month, tiny months, a big month;
2. the pipeline, ``critmin run-month`` as a whole process with ``CRITMIN_HOME`` in a temporary
   directory: the first run on a new home (a tiny warm-up month), tiny months on the warm home
   (fixed overhead), then month 1 with the big month's rows (marginal cost, per-step seconds from
   the Airflow metadata, peak memory);
3. the reader's rows/s and heap on the big month's download; a month of three times the rows
   (memory per further million rows); 24 tiny months in one ``critmin backfill`` process (seconds
   a month after the first);
4. history growth: the home's raw tables filled with 119 SYNTHETIC months in bulk
   (``bench/history.py``), one whole build, then month 120 through the pipeline;
5. p50/p95 of the BI queries in ``bench/queries/`` on the resulting ``serving.duckdb``.

Writes ``bench/results/latest.json`` and ``docs/benchmarks.md`` (``bench/report.py``). Every file
it makes lives in one temporary directory, deleted at the end (also on Ctrl-C or an error; ``--keep``
keeps it for a look), and no process it started outlives it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import report  # noqa: E402
from critmin.months import Month  # noqa: E402
from critmin.settings import Settings  # noqa: E402

SOURCE = "gacc/export"
QUERIES = REPO / "bench" / "queries"
#: The months. Month 120 of the history is 2025-12, with the 119 months before it (2016-01 to
#: 2025-11) filled in bulk. The months run through the pipeline on the young home (warm-up, tiny,
#: month 1) are 2024-01 and after, months no filled month overlaps.
MONTH_120 = Month(2025, 12)
HISTORY_MONTHS = 120
#: Tiny months run by one ``critmin backfill`` process (the issue's "24 tiny months").
BACKFILL_MONTHS = 24
MONTH_1 = Month(2024, 1)
#: The variables the bench homes must not inherit: a user's AIRFLOW_HOME or CRITMIN_HOME would
#: point the runs at their own metadata or warehouse (the embedded runner keeps values already set).
INHERITED_PREFIXES = ("AIRFLOW_", "AIRFLOW__", "CRITMIN_")
#: The embedded runner's console line of each month's run.
BACKFILL_LINE = re.compile(
    r"^\[\s*\d+/\d+\] customs_monthly (?P<month>\d{4}-\d{2}): (?P<state>\w+) in (?P<seconds>[\d.]+) s", re.M
)


@dataclass(frozen=True)
class Mode:
    name: str
    rows: int
    tiny_rows: int
    tiny_repeats: int
    bi_repeats: int
    estimate: str


QUICK = Mode("quick", 200_000, 10, 2, 30, "about 5 minutes on 2 cores")
FULL = Mode("full", 1_000_000, 10, 3, 30, "about 8 minutes on 2 cores, more on a busy machine")


class BenchError(RuntimeError):
    pass


class Progress:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def __call__(self, text: str) -> None:
        print(f"[{self.elapsed:7.1f} s] {text}", flush=True)


@dataclass
class Measured:
    returncode: int
    wall_s: float
    peak_rss_mib: float
    started_at: float  # epoch seconds
    ended_at: float
    pid: int
    log: Path
    rss_samples: list[tuple[float, float]] = field(default_factory=list)


class RssSampler(threading.Thread):
    """Samples a process's resident memory (VmRSS) to tell which step the peak falls in; the
    peak itself is the kernel's (``wait4``'s ``ru_maxrss``), which sampling could miss."""

    interval = 0.2

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while not self.done.wait(self.interval):
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.samples.append((time.time(), int(line.split()[1]) / 1024))
                        break
            except (OSError, ValueError, IndexError):
                pass


class Runner:
    """Runs commands one at a time, each in its own session, and measures them."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.current: subprocess.Popen[bytes] | None = None

    def run(self, command: list[str], log: Path, *, env: dict[str, str] | None = None) -> Measured:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:
            started_at, started = time.time(), time.perf_counter()
            process = subprocess.Popen(
                command,
                cwd=REPO,
                env=env or self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self.current = process
            sampler = RssSampler(process.pid)
            sampler.start()
            try:
                # wait4: this child's own resource usage, with its waited-for descendants'.
                _, status, usage = os.wait4(process.pid, 0)
            finally:
                sampler.done.set()
                sampler.join()
            wall = time.perf_counter() - started
            process.returncode = os.waitstatus_to_exitcode(status)
            self.current = None
        return Measured(
            process.returncode,
            wall,
            usage.ru_maxrss / 1024,  # KiB on Linux
            started_at,
            time.time(),
            process.pid,
            log,
            sampler.samples,
        )

    def stop(self) -> None:
        """Ends the running command and everything it started (its session)."""
        process = self.current
        if process is None or process.returncode is not None:
            return
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self.current = None


def clean_environment(home: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(INHERITED_PREFIXES)}
    env["PYTHONUNBUFFERED"] = "1"
    if home is not None:
        env["CRITMIN_HOME"] = str(home)
    return env


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


# --- the machine ----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) / (1 << 20)
    except OSError:
        pass
    packages = {}
    for name in ("duckdb", "dbt-core", "dbt-duckdb", "apache-airflow", "great-expectations"):
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = "not installed"
    return {
        "cpu_model": cpu,
        "cpu_count": os.cpu_count(),
        "memory_gib": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": packages,
        "load_average": {"start": os.getloadavg()[0]},
    }


def git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=REPO, capture_output=True, text=True, check=True, timeout=30
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"commit": git("rev-parse", "HEAD") or "unknown", "dirty": bool(git("status", "--porcelain"))}


# --- the runs -------------------------------------------------------------------------------------


def _utc_epoch(text: str | None) -> float | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def task_instances(home: Path) -> tuple[str, str, list[dict[str, Any]]]:
    """The last customs_monthly run's id, state and task instances, from the embedded Airflow's
    SQLite metadata (opened read-only)."""
    database = Settings.for_home(home).paths.airflow_home / "airflow.db"
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        run = connection.execute(
            "select run_id, state from dag_run where dag_id = 'customs_monthly' order by id desc limit 1"
        ).fetchone()
        if run is None:
            raise BenchError(f"no customs_monthly run in {database}")
        tasks = connection.execute(
            "select task_id, state, start_date, end_date, duration, pid from task_instance "
            "where dag_id = 'customs_monthly' and run_id = ? order by start_date",
            [run[0]],
        ).fetchall()
    finally:
        connection.close()
    return (
        run[0],
        run[1],
        [
            {
                "task": task,
                "state": state,
                "start": _utc_epoch(start),
                "end": _utc_epoch(end),
                "duration_s": duration or 0.0,
                "pid": pid,
            }
            for task, state, start, end, duration, pid in tasks
        ],
    )


def build_kind(log: Path) -> str:
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    if "rebuilding the models downstream" in text:
        return "partial (the run's months)"
    if "full refresh" in text or "building every model" in text:
        return "whole (every model, every month)"
    return "unknown"


def _peak_step(samples: list[tuple[float, float]], tasks: list[dict[str, Any]]) -> str | None:
    if not samples:
        return None
    moment, _ = max(samples, key=lambda sample: sample[1])
    for task in tasks:
        if task["start"] and task["end"] and task["start"] <= moment <= task["end"]:
            return task["task"]
    return report.OVERHEAD


@dataclass
class Bench:
    mode: Mode
    scratch: Path
    progress: Progress
    runner: Runner
    seed: int
    results: dict[str, Any] = field(default_factory=dict)
    tasks_in_process: bool = True

    @property
    def home(self) -> Path:
        return self.scratch / "home"

    @property
    def settings(self) -> Settings:
        return Settings.for_home(self.home)

    def files(self, month: Month, rows: int) -> list[Path]:
        from bench.synthetic import write_month

        folder = self.scratch / "files" / str(month)
        if not folder.exists():
            write_month(folder, month, rows, seed=self.seed)
        return sorted(folder.glob("SYNTHETIC_*.csv"))

    def land(self, month: Month, rows: int) -> None:
        """Put the month's SYNTHETIC files in the home's landing folder, as a download would."""
        landing = self.settings.paths.landing_dir(SOURCE, month)
        landing.mkdir(parents=True, exist_ok=True)
        for path in self.files(month, rows):
            target = landing / path.name
            target.unlink(missing_ok=True)
            try:
                os.link(path, target)
            except OSError:
                shutil.copy2(path, target)

    @staticmethod
    def critmin() -> list[str]:
        critmin = Path(sys.executable).with_name("critmin")
        return [str(critmin)] if critmin.exists() else [sys.executable, "-m", "critmin.cli"]

    def backfill(self, months: list[Month], rows: int) -> dict[str, Any]:
        """``critmin backfill FIRST LAST``: every month in one process; each run's seconds as its
        console line gives them ("[ 2/24] customs_monthly 2022-02: success in 3.1 s")."""
        for month in months:
            self.land(month, rows)
        log = self.scratch / "logs" / f"backfill-{months[0]}-{months[-1]}.log"
        measured = self.runner.run([*self.critmin(), "backfill", str(months[0]), str(months[-1])], log)
        runs = [
            (match["month"], match["state"], float(match["seconds"]))
            for match in BACKFILL_LINE.finditer(log.read_text(encoding="utf-8", errors="replace"))
        ]
        if measured.returncode != 0 or [state for _, state, _ in runs] != ["success"] * len(months):
            raise BenchError(
                f"critmin backfill {months[0]} {months[-1]} did not run every month to success "
                f"(exit {measured.returncode}, {len(runs)} runs):\n{_tail(log)}"
            )
        seconds = [run_s for _, _, run_s in runs]
        after_first = (measured.wall_s - seconds[0]) / (len(months) - 1)
        self.progress(
            f"  backfill of {len(months)} months ({rows:,} rows each): {measured.wall_s:.1f} s in one "
            f"process, first run {seconds[0]:.1f} s, then {after_first:.1f} s a month (runs: median "
            f"{statistics.median(seconds[1:]):.1f} s, max {max(seconds[1:]):.1f} s), "
            f"peak {measured.peak_rss_mib:,.0f} MiB"
        )
        return {
            "months": len(months),
            "first": str(months[0]),
            "last": str(months[-1]),
            "rows": rows,
            "wall_s": measured.wall_s,
            "peak_rss_mib": measured.peak_rss_mib,
            "run_s": seconds,
            "first_run_s": seconds[0],
            # the whole process's time past the first run, per month: start and exit count
            "per_month_after_first_s": after_first,
            "median_run_after_first_s": statistics.median(seconds[1:]),
        }

    def pipeline(self, month: Month, rows: int, what: str) -> dict[str, Any]:
        self.land(month, rows)
        log = self.scratch / "logs" / f"pipeline-{month}.log"
        measured = self.runner.run([*self.critmin(), "run-month", str(month)], log)
        run_log = self.settings.paths.logs / "customs_monthly" / f"{month}.log"
        if measured.returncode != 0:
            raise BenchError(
                f"critmin run-month {month} failed (exit {measured.returncode}):\n{_tail(log)}\n"
                f"--- the run's log ({run_log}):\n{_tail(run_log)}"
            )
        run_id, state, tasks = task_instances(self.home)
        not_done = sorted(set(report.STEPS) - {t["task"] for t in tasks if t["state"] == "success"})
        if state != "success" or not_done:
            raise BenchError(
                f"critmin run-month {month} exited 0 but its DAG run is {state!r} and these tasks did "
                f"not succeed: {', '.join(not_done)}\n{_tail(run_log)}"
            )
        if any(task["pid"] not in (None, measured.pid) for task in tasks):
            self.tasks_in_process = False
        starts = [t["start"] for t in tasks if t["start"]]
        ends = [t["end"] for t in tasks if t["end"]]
        steps = {task["task"]: task["duration_s"] for task in tasks}
        before = min(starts) - measured.started_at if starts else 0.0
        after = measured.ended_at - max(ends) if ends else 0.0
        overhead = measured.wall_s - sum(steps.values())
        result = {
            "month": str(month),
            "rows": rows,
            "what": what,
            "wall_s": measured.wall_s,
            "peak_rss_mib": measured.peak_rss_mib,
            "steps": steps,
            "overhead": {
                "total_s": overhead,
                "before_first_task_s": before,
                "after_last_task_s": after,
                "between_tasks_s": overhead - before - after,
            },
            "peak_step": _peak_step(measured.rss_samples, tasks),
            "run_id": run_id,
            "state": state,
            "build": build_kind(run_log),
        }
        self.progress(
            f"  pipeline {month} ({rows:,} rows, {what}): {measured.wall_s:.1f} s, "
            f"peak {measured.peak_rss_mib:,.0f} MiB; "
            + ", ".join(f"{name} {seconds:.1f}" for name, seconds in steps.items())
            + f"; overhead {overhead:.1f} s"
        )
        return result

    def baseline(self, month: Month, rows: int, what: str) -> dict[str, Any]:
        files = self.files(month, rows)
        log = self.scratch / "logs" / f"baseline-{month}.log"
        command = [
            sys.executable,
            str(REPO / "bench" / "baseline.py"),
            "--db",
            str(self.scratch / "baseline" / "baseline.duckdb"),
            "--month",
            str(month),
            *map(str, files),
        ]
        (self.scratch / "baseline").mkdir(exist_ok=True)
        measured = self.runner.run(command, log)
        if measured.returncode != 0:
            raise BenchError(f"the baseline failed for {month}:\n{_tail(log)}")
        output = json.loads(log.read_text(encoding="utf-8").strip().splitlines()[-1])
        self.progress(f"  baseline {month} ({rows:,} rows, {what}): {measured.wall_s:.2f} s")
        return {
            "month": str(month),
            "rows": rows,
            "what": what,
            "wall_s": measured.wall_s,
            "peak_rss_mib": measured.peak_rss_mib,
            "rows_loaded": output["rows"],
            "fact_rows": output["fact_rows"],
            "phases": output["seconds"],
        }

    def helper(self, name: str, args: list[str]) -> dict[str, Any]:
        log = self.scratch / "logs" / f"history-{name}.log"
        measured = self.runner.run([sys.executable, "-m", "bench.history", *args], log)
        if measured.returncode != 0:
            raise BenchError(f"bench/history.py {name} failed:\n{_tail(log)}")
        result = json.loads(log.read_text(encoding="utf-8").strip().splitlines()[-1])
        result["wall_s"] = measured.wall_s
        return result


# --- measurements ---------------------------------------------------------------------------------


def months_plan() -> dict[str, Any]:
    """The calendar months of each run (see ``MONTH_1``)."""
    return {
        "warm_up": MONTH_1.shifted(1),
        "tiny": [MONTH_1.shifted(2 + index) for index in range(FULL.tiny_repeats)],
        "month_1": MONTH_1,
        # three times month 1's rows, run after it on the young home
        "month_3x": MONTH_1.shifted(2 + FULL.tiny_repeats),
        # the backfill's tiny months: before month 1, on the young home (the fill replaces them)
        "backfill": [MONTH_1.shifted(index - BACKFILL_MONTHS) for index in range(BACKFILL_MONTHS)],
        "fill_first": MONTH_120.shifted(1 - HISTORY_MONTHS),
        "month_120": MONTH_120,
    }


def check_plan(today: Month) -> None:
    plan = months_plan()
    latest = plan["month_120"]
    if latest > today:
        raise BenchError(f"month 120 ({latest}) is after the current month ({today}): check the clock")


def measure_reader(path: Path) -> dict[str, Any]:
    import tracemalloc

    from critmin.sources.gacc.read import iter_records

    started = time.perf_counter()
    count = sum(1 for _ in iter_records(path))
    seconds = time.perf_counter() - started
    tracemalloc.start()
    for _ in iter_records(path):
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "file": path.name,
        "rows": count,
        "file_mb": path.stat().st_size / 1e6,
        "seconds": seconds,
        "rows_per_s": count / seconds,
        "peak_heap_mib": peak / report.MIB,
    }


def query_description(sql: str) -> str:
    first = next((line for line in sql.splitlines() if line.startswith("--")), "-- ")
    return first[2:].strip()


def measure_bi(serving: Path, repeats: int) -> dict[str, Any]:
    from critmin.serving import open_serving

    queries = []
    with open_serving(serving) as connection:
        months = connection.execute(
            "select count(distinct month) from marts.fct_magnet_exports_monthly"
        ).fetchone()[0]
        for path in sorted(QUERIES.glob("*.sql")):
            sql = path.read_text(encoding="utf-8")
            rows = len(connection.execute(sql).fetchall())  # warm up
            timings = []
            for _ in range(repeats):
                started = time.perf_counter()
                connection.execute(sql).fetchall()
                timings.append((time.perf_counter() - started) * 1000)
            queries.append(
                {
                    "name": path.stem,
                    "file": str(path.relative_to(REPO)),
                    "description": query_description(sql),
                    "rows": rows,
                    "p50_ms": report.percentile(timings, 0.50),
                    "p95_ms": report.percentile(timings, 0.95),
                    "max_ms": max(timings),
                    "mean_ms": statistics.fmean(timings),
                }
            )
    return {"serving_months": months, "repeats": repeats, "queries": queries}


def run(bench: Bench) -> dict[str, Any]:
    mode, progress, plan = bench.mode, bench.progress, months_plan()
    check_plan(Month.of(datetime.now(UTC).date()))
    rows, tiny_rows = mode.rows, mode.tiny_rows
    tiny_months = plan["tiny"][: mode.tiny_repeats]

    progress(
        f"writing SYNTHETIC downloads (seed {bench.seed}): {rows:,} rows (months 1, 120), "
        f"{3 * rows:,} rows (month 3x), tiny"
    )
    for month in [plan["warm_up"], *tiny_months, *plan["backfill"]]:
        bench.files(month, tiny_rows)
    bench.files(plan["month_1"], rows)
    bench.files(plan["month_3x"], 3 * rows)
    bench.files(plan["month_120"], rows)

    progress("baseline (bench/baseline.py): first month, tiny months, then month 1")
    baseline = {
        "cold_first_run": bench.baseline(plan["warm_up"], tiny_rows, "first run, new database"),
        "tiny_runs": [bench.baseline(month, tiny_rows, "tiny") for month in tiny_months],
        "month_1": bench.baseline(plan["month_1"], rows, "month 1"),
    }

    progress("pipeline: loading the registers into the new home (bench/history.py registers)")
    bench.helper("registers", ["registers", str(bench.home)])
    progress("pipeline: first run on the new home (Airflow metadata, whole dbt build), tiny warm-up month")
    pipeline: dict[str, Any] = {
        "cold_first_run": bench.pipeline(plan["warm_up"], tiny_rows, "first run, new home"),
    }
    progress(f"pipeline: fixed overhead, {len(tiny_months)} tiny months on the warm home")
    pipeline["tiny_runs"] = [bench.pipeline(month, tiny_rows, "tiny") for month in tiny_months]
    progress(f"pipeline: month 1, {rows:,} rows (marginal cost, memory, history month 1)")
    pipeline["month_1"] = bench.pipeline(plan["month_1"], rows, "month 1")

    progress("reader: rows/s and heap on month 1's by-partner download")
    by_partner = max(bench.files(plan["month_1"], rows), key=lambda path: path.stat().st_size)
    reader = measure_reader(by_partner)
    progress(f"  reader: {reader['rows_per_s']:,.0f} rows/s, peak heap {reader['peak_heap_mib']:.2f} MiB")

    progress(f"pipeline: a month of {3 * rows:,} rows (memory per further million rows)")
    pipeline["month_3x"] = bench.pipeline(plan["month_3x"], 3 * rows, "month of 3x rows")
    progress(f"pipeline: backfill of {BACKFILL_MONTHS} tiny months in one process (critmin backfill)")
    backfill = bench.backfill(plan["backfill"], tiny_rows)

    fill_months = HISTORY_MONTHS - 1
    progress(
        f"history: {fill_months} SYNTHETIC months x {rows:,} rows into the raw tables, then one whole build "
        "(bench/history.py fill)"
    )
    filled = bench.helper(
        "fill",
        [
            "fill",
            str(bench.home),
            "--month-1",
            str(plan["fill_first"]),
            "--template-month",
            str(plan["month_1"]),
            "--months",
            str(fill_months),
            "--seed",
            str(bench.seed),
            *map(str, bench.files(plan["month_1"], rows)),
        ],
    )
    progress(
        f"  filled {filled['rows']:,} rows in {filled['fill_s']:.1f} s, "
        f"whole build {filled['whole_build_s']:.1f} s, "
        f"{filled.get('validation_results', 0):,} stored validation results "
        f"in {filled.get('validation_results_s', 0):.1f} s"
    )
    progress(f"pipeline: month 120, {rows:,} rows, {fill_months} months before it")
    pipeline["month_120"] = bench.pipeline(plan["month_120"], rows, "month 120")
    pipeline["tasks_in_process"] = bench.tasks_in_process

    progress(f"BI queries on serving.duckdb ({mode.bi_repeats} runs each)")
    bi = measure_bi(bench.settings.paths.serving_db, mode.bi_repeats)
    if bi["serving_months"] != HISTORY_MONTHS:
        raise BenchError(f"serving.duckdb has {bi['serving_months']} months, not {HISTORY_MONTHS}")
    for query in bi["queries"]:
        progress(f"  {query['name']}: p50 {query['p50_ms']:.1f} ms, p95 {query['p95_ms']:.1f} ms")

    months_before_month_1 = 1 + len(tiny_months)
    return {
        "pipeline": pipeline,
        "baseline": baseline,
        "reader": reader,
        "backfill": backfill,
        "history": {
            "filled_months": fill_months,
            "filled_rows": filled["rows"],
            "fill_s": filled["fill_s"],
            "whole_build_s": filled["whole_build_s"],
            "validation_results": filled.get("validation_results", 0),
            "months_before_month_1": months_before_month_1,
            "month_1_s": pipeline["month_1"]["wall_s"],
            "month_120_s": pipeline["month_120"]["wall_s"],
            "serving_months": bi["serving_months"],
            # what 120 months take on disk: the build database holds every raw row
            "warehouse_mib": bench.settings.paths.warehouse_db.stat().st_size / 2**20,
            "serving_mib": bench.settings.paths.serving_db.stat().st_size / 2**20,
        },
        "memory": {
            "rows": rows,
            "peak_rss_mib": pipeline["month_1"]["peak_rss_mib"],
            "peak_step": pipeline["month_1"]["peak_step"],
            "rows_3x": 3 * rows,
            "peak_rss_3x_mib": pipeline["month_3x"]["peak_rss_mib"],
            "peak_step_3x": pipeline["month_3x"]["peak_step"],
            # MiB per further million rows, from month 1 to the month of 3x rows
            "mib_per_further_million_rows": (
                (pipeline["month_3x"]["peak_rss_mib"] - pipeline["month_1"]["peak_rss_mib"])
                / (2 * rows / 1e6)
            ),
            "sample_interval_s": RssSampler.interval,
            "by_run": {
                "pipeline, first run (tiny month)": pipeline["cold_first_run"]["peak_rss_mib"],
                "pipeline, tiny month (max)": max(run["peak_rss_mib"] for run in pipeline["tiny_runs"]),
                f"pipeline, month 1 ({rows:,} rows)": pipeline["month_1"]["peak_rss_mib"],
                f"pipeline, month of {3 * rows:,} rows": pipeline["month_3x"]["peak_rss_mib"],
                f"pipeline, {BACKFILL_MONTHS} tiny months in one process": backfill["peak_rss_mib"],
                f"pipeline, month 120 ({rows:,} rows)": pipeline["month_120"]["peak_rss_mib"],
                f"baseline, month 1 ({rows:,} rows)": baseline["month_1"]["peak_rss_mib"],
            },
        },
        "bi": bi,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200,000 rows a month, under 10 minutes")
    parser.add_argument("--rows", type=int, help="rows a month (default: 1,000,000; --quick: 200,000)")
    parser.add_argument("--seed", type=int, help="the synthetic data's seed (default: bench.synthetic's)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (for a look)")
    parser.add_argument("--results", type=Path, default=report.RESULTS)
    parser.add_argument("--doc", type=Path, default=report.DOC)
    args = parser.parse_args(argv)

    from bench.synthetic import DEFAULT_SEED

    mode = QUICK if args.quick else FULL
    if args.rows:
        mode = Mode(mode.name, args.rows, mode.tiny_rows, mode.tiny_repeats, mode.bi_repeats, "unknown")
    seed = args.seed if args.seed is not None else DEFAULT_SEED
    progress = Progress()
    progress(f"critmin benchmark, {mode.name} mode: {mode.rows:,} rows a month, SYNTHETIC data (seed {seed})")
    if mode.name == "full":
        progress(f"the full run takes long: {mode.estimate}. `make bench QUICK=1` takes about 5 minutes.")

    def interrupted(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    # Ctrl-C and kill stop the run and clean up, even where SIGINT was ignored (a background job).
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    scratch = Path(tempfile.mkdtemp(prefix="critmin-bench-"))
    runner = Runner(clean_environment(scratch / "home"))
    bench = Bench(mode, scratch, progress, runner, seed)
    info = machine()
    progress(f"scratch directory {scratch} (deleted at the end)")
    progress(f"machine: {info['cpu_model']}, {info['cpu_count']} cores, {info['memory_gib']:.0f} GiB")
    try:
        measured = run(bench)
    except KeyboardInterrupt:
        runner.stop()
        progress("interrupted: stopped, cleaning up")
        return 130
    except BenchError as error:
        runner.stop()
        progress(f"failed: {error}")
        return 1
    finally:
        runner.stop()
        if args.keep:
            progress(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    info["load_average"]["end"] = os.getloadavg()[0]
    plan = months_plan()
    results: dict[str, Any] = {
        "schema": 1,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": mode.name,
        "wall_s": progress.elapsed,
        "git": git_state(),
        "machine": info,
        "parameters": {
            "rows": mode.rows,
            "tiny_rows": mode.tiny_rows,
            "tiny_repeats": mode.tiny_repeats,
            "bi_repeats": mode.bi_repeats,
            "history_months": HISTORY_MONTHS,
            "seed": seed,
            "months": {
                "warm_up": str(plan["warm_up"]),
                "tiny": [str(m) for m in plan["tiny"][: mode.tiny_repeats]],
                "month_1": str(plan["month_1"]),
                "filled": f"{plan['fill_first']} to {plan['month_120'].shifted(-1)}",
                "month_120": str(plan["month_120"]),
            },
        },
        **measured,
    }
    results["summary"] = report.summarize(results)
    results["targets"] = report.evaluate_targets(results, results["summary"])
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    args.doc.parent.mkdir(parents=True, exist_ok=True)
    args.doc.write_text(report.render(results), encoding="utf-8")
    progress(f"wrote {args.results} and {args.doc}")
    for target in results["targets"]:
        verdict = "met" if target["met"] else f"MISSED ({target['ratio']:.2f}x the goal)"
        progress(f"  {target['name']}: {report._value(target)} (goal {target['target']:g}) {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
