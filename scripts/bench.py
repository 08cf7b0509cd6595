"""Benchmarks: reader throughput and memory, and the land + load of one month, on SYNTHETIC data.

The files are generated here with a fixed seed, in a temporary directory that is deleted at the end,
and named ``SYNTHETIC_*.csv``. They are for measuring speed and memory only: their numbers are
random, never published figures, and never go near the demo or the sample data.

    make bench              # or: uv run python scripts/bench.py --rows 10000 100000 400000

Memory is the Python heap's peak while reading (tracemalloc): a streaming reader stays flat as the
file grows. Timings are wall-clock seconds on this machine.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import tracemalloc
from pathlib import Path

from critmin.months import Month
from critmin.settings import Settings
from critmin.sources.gacc.land import land_month
from critmin.sources.gacc.load import load_month
from critmin.sources.gacc.read import iter_records

SEED = 20251120
PARTNERS = ["502", "304", "133", "141", "116", "110", "121", "143", "412", "305"]
PROVINCES = ["11", "12", "31", "32", "33", "35", "36", "37", "44", "61"]
REGIMES = ["10", "14", "15"]


def write_synthetic_download(path: Path, rows: int, month: str, seed: int = SEED) -> None:
    """A by-partner-regime-province download in the platform's format, with random numbers."""
    rng = random.Random(seed)
    header = [
        "Date of data",
        "Commodity code",
        "Trading partner code",
        "Customs Regime code",
        "Locations of importers and exporters code",
        "Quantity",
        "Unit",
        "US dollar",
    ]
    with path.open("w", encoding="gb18030", newline="") as handle:
        handle.write(",".join(f'"{h}"' for h in header) + ",\n")
        for index in range(rows):
            cells = [
                month.replace("-", ""),
                f"{85051110 + index // 3000:08d}",
                PARTNERS[index % len(PARTNERS)],
                REGIMES[(index // 10) % len(REGIMES)],
                PROVINCES[(index // 30) % len(PROVINCES)],
                str(rng.randint(1, 500_000)),
                "Kilogram",
                f"{rng.randint(1, 90_000_000):,}",
            ]
            handle.write(",".join(f'"{c}"' for c in cells) + ",\n")


def bench_reader(folder: Path, rows: int) -> tuple[float, float]:
    """Seconds to read every record, then (in a second pass, tracemalloc slows Python) peak MiB."""
    path = folder / f"SYNTHETIC_reader_{rows}.csv"
    write_synthetic_download(path, rows, "2025-01")
    started = time.perf_counter()
    count = sum(1 for _ in iter_records(path))
    seconds = time.perf_counter() - started
    assert count == rows
    tracemalloc.start()
    for _ in iter_records(path):
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 2**20


def bench_month(folder: Path, rows: int) -> tuple[float, float]:
    settings = Settings.for_home(folder / f"home_{rows}")
    month = Month(2025, 1)
    landing = settings.paths.landing_dir("gacc/export", month)
    landing.mkdir(parents=True)
    write_synthetic_download(landing / "SYNTHETIC_month.csv", rows, "2025-01")
    started = time.perf_counter()
    land_month(settings, month)
    landed = time.perf_counter()
    load_month(settings, month)
    return landed - started, time.perf_counter() - landed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 400_000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="critmin-bench-") as tmp:
        folder = Path(tmp)
        print("SYNTHETIC data, seed", SEED)
        print(f"{'rows':>9}  {'read s':>7}  {'rows/s':>9}  {'peak MiB':>8}  {'land s':>7}  {'load s':>7}")
        for rows in args.rows:
            read_s, peak = bench_reader(folder, rows)
            land_s, load_s = bench_month(folder, rows)
            print(
                f"{rows:>9,}  {read_s:>7.2f}  {rows / read_s:>9,.0f}  {peak:>8.2f}  "
                f"{land_s:>7.2f}  {load_s:>7.2f}"
            )


if __name__ == "__main__":
    main()
