"""Code lists shared by every source: GACC trading partners with their ISO 3166 codes.

Read from the dbt seeds that the marts join to (``dbt_project/seeds/reference/``), so the gates and
the marts use one list. Each file is read once per process.
"""

from __future__ import annotations

import csv
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

PARTNERS_SEED = "gacc_partners.csv"


@cache
def _partner_rows(seeds_dir: Path) -> tuple[dict[str, str], ...]:
    with (seeds_dir / PARTNERS_SEED).open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


@cache
def partner_codes(seeds_dir: Path) -> frozenset[str]:
    """Every GACC trading-partner code."""
    return frozenset(row["partner_code"] for row in _partner_rows(seeds_dir))


@cache
def partner_names(seeds_dir: Path) -> dict[str, frozenset[str]]:
    """GACC partner code -> its names as listed (English and Chinese)."""
    return {
        row["partner_code"]: frozenset(n for n in (row["partner_name_en"], row["partner_name_zh"]) if n)
        for row in _partner_rows(seeds_dir)
    }


@cache
def iso2_codes(seeds_dir: Path) -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes of the countries and territories in GACC's partner list."""
    return frozenset(row["iso2"] for row in _partner_rows(seeds_dir) if row["iso2"])
