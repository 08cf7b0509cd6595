"""SYNTHETIC GACC downloads at full scale, for scale tests and benchmarks only.

Every number these files hold is random: they are never published figures, never a sample of real
trade, and must never be read as data. They exist to measure how the reader, the landing, the gates,
the load and the marts behave on a month of a million rows. Every file name starts with
``SYNTHETIC_``, and ``generate`` and ``write_month`` refuse to write inside the demo's runtime
directory (``$CRITMIN_HOME``, by default ``warehouse/`` in the repository) or the sample downloads
the demo copies into it.

What is real is the format and the codes (``shared/reference/gacc/FORMAT.md``): GB18030, every field
quoted, a trailing comma on every line, English headers, numbers with thousands separators
(``"1,234,567"``), no month column (a single-month query), and only codes from GACC's lists: the HS8
commodity codes with their first legal unit and the trading partners (the dbt seeds in
``dbt_project/seeds/reference/``), the customs regimes and the provinces (``data/reference/gacc/``,
from the chinautils project).

A month is two files in one folder:

- ``SYNTHETIC_gacc_exports_YYYY-MM_by_partner_regime_province.csv``: one row per distinct (HS8 code,
  partner, regime, province), sorted by that key. The magnet code 85051110 has a few dozen partners
  every month; the other rows are spread uniformly over the other codes and their keys;
- ``SYNTHETIC_gacc_exports_YYYY-MM_world.csv``: the commodity-only download, one row per HS8 code of
  the first file with exactly its quantity and value summed over partners, so the pipeline's
  partners-versus-world reconciliation passes.

The same seed, month and row count give byte-identical files (the month is mixed into the seed, so
months differ). The files are written in one streaming pass, code by code, beside their place and
renamed into it: memory does not grow with the row count. Note that a file of exactly 10,000 rows is
refused by the raw gate as a truncated download (``download_not_truncated``), as a real one would be.

    python -m bench.synthetic --out /tmp/critmin-scale/landing --rows 1000000 --months 3 --start 2025-01
    CRITMIN_HOME=/tmp/critmin-scale make run-month MONTH=2025-01   # the pipeline on a scratch home

(Generate with ``CRITMIN_HOME`` unset or pointing elsewhere: the home in the environment is refused.)
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import random
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from critmin import codes
from critmin.months import Month
from critmin.settings import Settings, repo_root

if TYPE_CHECKING:
    from collections.abc import Sequence

DEFAULT_SEED = 20251120
DEFAULT_ROWS = 1_000_000
SYNTHETIC_PREFIX = "SYNTHETIC_"

#: The landing folder of GACC export downloads under a landing root (``critmin.sources.gacc.SOURCE``,
#: which this layer may not import).
SOURCE = "gacc/export"
HS8_SEED = "gacc_hs8_codes.csv"
#: The regime and province code lists, copied from chinautils (see the README.md there).
GACC_CODES_DIR = Path("data") / "reference" / "gacc"
REGIMES_FILE = "en-CustomsRegime.csv"
PROVINCES_FILE = "china_customs_provinces.csv"
#: The repository folder whose downloads ``critmin demo`` copies into ``$CRITMIN_HOME``.
SAMPLE_DIR = Path("data") / "sample"

MAGNET_HS8 = "85051110"
#: Destinations every synthetic magnet month has (the partners FORMAT.md names); more are drawn.
MAGNET_PARTNERS = ("502", "304", "133", "141", "116")
MAGNET_PARTNER_COUNT = (30, 45)
#: Ordinary trade and the two processing-trade regimes.
MAGNET_REGIMES = ("10", "14", "15")
MAGNET_PROVINCE_COUNT = 8
MAGNET_KEYS_PER_PARTNER = (1, 4)

BY_PARTNER_HEADER = (
    "Commodity code",
    "Commodity",
    "Trading partner code",
    "Trading partner",
    "Customs Regime code",
    "Customs Regime",
    "Locations of importers and exporters code",
    "Quantity",
    "Unit",
    "US dollar",
)
WORLD_HEADER = ("Commodity code", "Commodity", "Quantity", "Unit", "US dollar")
ENCODING = "gb18030"
MISSING = "?"
_CHUNK = 1 << 16


@dataclass(frozen=True)
class ReferenceCodes:
    """The code lists the generator draws from, each sorted (so sorted indexes are sorted keys)."""

    hs8: list[tuple[str, str]]  # (hs8_code, first unit's English name as GACC writes it, "Kilogram")
    partners: list[str]  # GACC trading-partner codes, "502"
    regimes: list[str]  # customs regime codes, "10"
    provinces: list[str]  # province (location of importers and exporters) codes, "11"
    #: English names written beside the codes; a code without one gets "?" (GACC's missing).
    commodity_names: dict[str, str] = field(default_factory=dict)
    partner_names: dict[str, str] = field(default_factory=dict)
    regime_names: dict[str, str] = field(default_factory=dict)


def _code_rows(path: Path) -> list[list[str]]:
    """The data rows of a chinautils code list (quoted header, trailing comma), UTF-8."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return [row for row in rows[1:] if row and row[0].strip()]


@cache
def _english_partner_names(seeds_dir: Path) -> dict[str, str]:
    with (seeds_dir / codes.PARTNERS_SEED).open(encoding="utf-8", newline="") as handle:
        return {row["partner_code"]: row["partner_name_en"] for row in csv.DictReader(handle)}


@cache
def _reference_codes(seeds_dir: Path, gacc_dir: Path, world_partner_code: str) -> ReferenceCodes:
    with (seeds_dir / HS8_SEED).open(encoding="utf-8", newline="") as handle:
        hs8_rows = sorted(csv.DictReader(handle), key=lambda row: row["hs8_code"])
    regimes = sorted(_code_rows(gacc_dir / REGIMES_FILE), key=lambda row: row[0])
    provinces = sorted(_code_rows(gacc_dir / PROVINCES_FILE), key=lambda row: row[0])
    return ReferenceCodes(
        hs8=[(row["hs8_code"], row["first_unit_en"] or MISSING) for row in hs8_rows],
        partners=sorted(code for code in codes.partner_codes(seeds_dir) if code != world_partner_code),
        regimes=[row[0].strip() for row in regimes],
        provinces=[row[0].strip() for row in provinces],
        commodity_names={row["hs8_code"]: row["description_en"] for row in hs8_rows if row["description_en"]},
        partner_names={code: name for code, name in _english_partner_names(seeds_dir).items() if name},
        regime_names={row[0].strip(): row[1].strip() for row in regimes if len(row) > 1 and row[1].strip()},
    )


def reference_codes(settings: Settings | None = None) -> ReferenceCodes:
    """The HS8 codes and units, partners, regimes and provinces, read once per process.

    HS8 codes and partners come from the dbt seeds (``settings.seeds_dir``), without the pipeline's
    own world partner code; regimes and provinces from ``data/reference/gacc/`` in the repository.
    The value is cached and shared: do not change its lists.
    """
    settings = settings or Settings.from_env()
    return _reference_codes(
        settings.seeds_dir, repo_root() / GACC_CODES_DIR, settings.domain.world_partner_code
    )


# --- where synthetic files may go -----------------------------------------------------------------


def _protected_dirs() -> list[Path]:
    """The demo's runtime directory (``$CRITMIN_HOME``, and the repository default ``warehouse/``)
    and the sample downloads ``critmin demo`` copies into it."""
    root = repo_root()
    homes = {Settings.from_env().paths.home, (root / "warehouse").resolve(), (root / SAMPLE_DIR).resolve()}
    return sorted(homes)


def _refuse_demo_dirs(folder: Path) -> None:
    target = folder.expanduser().resolve()
    for protected in _protected_dirs():
        if target == protected or protected in target.parents:
            raise ValueError(
                f"{folder} is inside {protected}, the demo's runtime directory or its sample data: "
                "SYNTHETIC files are for scale tests only and never go there. Write them to a "
                "scratch folder (e.g. under /tmp) and point CRITMIN_HOME at a scratch home to run "
                "the pipeline on them."
            )


# --- one month ------------------------------------------------------------------------------------


def _month_rng(seed: int, month: Month) -> random.Random:
    # A string seed is hashed with SHA-512: stable across runs and processes (no hash randomization).
    return random.Random(f"critmin.synthetic/{seed}/{month}")


def _magnet_keys(rng: random.Random, ref: ReferenceCodes) -> list[int]:
    """Sorted key indexes (partner, regime, province) of the magnet code: a few dozen partners,
    each with one to four regime-province pairs."""
    n_regimes, n_provinces = len(ref.regimes), len(ref.provinces)
    fixed = [ref.partners.index(code) for code in MAGNET_PARTNERS if code in ref.partners]
    others = [index for index in range(len(ref.partners)) if index not in fixed]
    wanted = min(rng.randint(*MAGNET_PARTNER_COUNT), len(ref.partners))
    partners = fixed + rng.sample(others, max(0, wanted - len(fixed)))
    regimes = [ref.regimes.index(code) for code in MAGNET_REGIMES if code in ref.regimes] or list(
        range(n_regimes)
    )
    provinces = rng.sample(range(n_provinces), min(MAGNET_PROVINCE_COUNT, n_provinces))
    pairs = len(regimes) * len(provinces)
    keys = []
    for partner in partners:
        for pair in rng.sample(range(pairs), min(rng.randint(*MAGNET_KEYS_PER_PARTNER), pairs)):
            regime, province = divmod(pair, len(provinces))
            keys.append((partner * n_regimes + regimes[regime]) * n_provinces + provinces[province])
    return sorted(keys)


def _row_counts(rng: random.Random, n_codes: int, rows: int, capacity: int) -> list[int]:
    """How many rows each code gets: ``rows`` draws of a code, uniform, none above ``capacity``
    (the number of distinct keys a code has). Drawn in chunks, so memory stays flat."""
    counts = [0] * n_codes
    population = range(n_codes)
    remaining = rows
    while remaining:
        chunk = min(remaining, _CHUNK)
        for index in rng.choices(population, k=chunk):
            counts[index] += 1
        remaining -= chunk
    excess = 0
    for index, count in enumerate(counts):
        if count > capacity:
            excess += count - capacity
            counts[index] = capacity
    index = 0
    while excess:  # only when rows come near the key space: the caller checked that it fits
        added = min(capacity - counts[index], excess)
        counts[index] += added
        excess -= added
        index += 1
    return counts


def _quoted(*cells: str) -> str:
    """Cells as the platform writes them: each quoted (a quote inside doubled), each followed by a comma."""
    return "".join('"' + cell.replace('"', '""') + '",' for cell in cells)


def _open_download(path: Path, header: Sequence[str]) -> TextIO:
    handle = path.open("w", encoding=ENCODING, newline="", buffering=1 << 20)
    handle.write(_quoted(*header) + "\n")
    return handle


def month_file_names(month: Month) -> tuple[str, str]:
    """The names of a month's two files: by partner, regime and province; and world."""
    stem = f"{SYNTHETIC_PREFIX}gacc_exports_{month}"
    return f"{stem}_by_partner_regime_province.csv", f"{stem}_world.csv"


def write_month(
    folder: Path,
    month: Month,
    rows: int = DEFAULT_ROWS,
    *,
    seed: int = DEFAULT_SEED,
    world_file: bool = True,
) -> list[Path]:
    """Write one month of SYNTHETIC downloads into ``folder`` (created); return the paths written.

    The by-partner-regime-province file has exactly ``rows`` data rows with distinct keys, sorted;
    the world file (when ``world_file``) has the per-HS8 sums of its quantities and values.
    """
    if rows < 1:
        raise ValueError(f"rows must be at least 1, not {rows}")
    _refuse_demo_dirs(folder)
    ref = reference_codes()
    rng = _month_rng(seed, month)
    n_regimes, n_provinces = len(ref.regimes), len(ref.provinces)
    per_partner = n_regimes * n_provinces
    capacity = len(ref.partners) * per_partner
    magnet = _magnet_keys(rng, ref) if any(code == MAGNET_HS8 for code, _ in ref.hs8) else []
    if rows < len(magnet):
        magnet = sorted(rng.sample(magnet, rows))
    other_codes = [index for index, (code, _) in enumerate(ref.hs8) if code != MAGNET_HS8]
    other_rows = rows - len(magnet)
    if other_rows > len(other_codes) * capacity:
        raise ValueError(f"{rows:,} rows do not fit in the {len(other_codes) * capacity:,} distinct keys")
    counts = dict(zip(other_codes, _row_counts(rng, len(other_codes), other_rows, capacity), strict=True))

    partner_cells = [_quoted(code, ref.partner_names.get(code, MISSING)) for code in ref.partners]
    regime_cells = [_quoted(code, ref.regime_names.get(code, MISSING)) for code in ref.regimes]
    province_cells = [_quoted(code) for code in ref.provinces]

    folder.mkdir(parents=True, exist_ok=True)
    by_partner_name, world_name = month_file_names(month)
    targets = [folder / by_partner_name] + ([folder / world_name] if world_file else [])
    staged = [path.with_name(f".{path.name}.{os.getpid()}.partial") for path in targets]
    gauss, sample, exp = rng.gauss, rng.sample, math.exp
    try:
        with ExitStack() as files:
            out = files.enter_context(_open_download(staged[0], BY_PARTNER_HEADER))
            world = files.enter_context(_open_download(staged[1], WORLD_HEADER)) if world_file else None
            for index, (hs8, unit) in enumerate(ref.hs8):
                if hs8 == MAGNET_HS8:
                    # median about 13 t a row at about 30 USD/kg: random, but of the right shape
                    keys, mu, sigma, price_mu, price_sigma = magnet, 9.5, 1.5, 3.4, 0.3
                else:
                    count = counts[index]
                    keys = sorted(sample(range(capacity), count)) if count else []
                    mu, sigma, price_mu, price_sigma = 7.0, 2.0, 1.5, 1.0
                if not keys:
                    continue
                commodity = _quoted(hs8, ref.commodity_names.get(hs8, MISSING))
                unit_cell = f'"{unit}",'
                lines = []
                total_quantity = total_value = 0
                for key in keys:
                    partner, rest = divmod(key, per_partner)
                    regime, province = divmod(rest, n_provinces)
                    quantity = int(exp(mu + sigma * gauss())) + 1
                    value = int(quantity * exp(price_mu + price_sigma * gauss())) + 1
                    total_quantity += quantity
                    total_value += value
                    lines.append(
                        f"{commodity}{partner_cells[partner]}{regime_cells[regime]}"
                        f'{province_cells[province]}"{quantity:,}",{unit_cell}"{value:,}",\n'
                    )
                out.write("".join(lines))
                if world is not None:
                    world.write(f'{commodity}"{total_quantity:,}",{unit_cell}"{total_value:,}",\n')
        for source, target in zip(staged, targets, strict=True):
            os.replace(source, target)
    except BaseException:
        for path in staged:
            path.unlink(missing_ok=True)
        raise
    return targets


def generate(
    out_dir: Path, months: Sequence[Month], rows: int = DEFAULT_ROWS, *, seed: int = DEFAULT_SEED
) -> list[Path]:
    """Write each month into ``out_dir/gacc/export/YYYY-MM/`` (the landing layout); return the paths.

    Refuses (``ValueError``) an ``out_dir`` inside the demo's runtime directory or its sample data.
    """
    _refuse_demo_dirs(out_dir)
    written: list[Path] = []
    for month in months:
        written += write_month(out_dir / SOURCE / str(month), month, rows, seed=seed)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.synthetic",
        description="Write SYNTHETIC GACC export downloads (random numbers, real format and codes) "
        "for scale tests, into OUT/gacc/export/YYYY-MM/. Never the demo's warehouse/.",
    )
    parser.add_argument("--out", type=Path, required=True, help="landing root to write into (a scratch dir)")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows per month (default 1,000,000)")
    parser.add_argument("--months", type=int, default=1, help="number of months (default 1)")
    parser.add_argument("--start", type=Month.parse, default=Month(2025, 1), help="first month, YYYY-MM")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"seed (default {DEFAULT_SEED})")
    args = parser.parse_args(argv)
    if args.months < 1:
        parser.error("--months must be at least 1")
    months = [args.start.shifted(offset) for offset in range(args.months)]
    started = time.perf_counter()
    try:
        written = generate(args.out, months, args.rows, seed=args.seed)
    except ValueError as error:
        print(f"bench.synthetic: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    print(
        f"SYNTHETIC data (random numbers, seed {args.seed}): {len(months)} month(s) of {args.rows:,} rows "
        f"in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
