"""GACC code lists, read from the dbt seeds that the marts join to (one source for both)."""

from __future__ import annotations

import csv
from functools import cache

from critmin.settings import dbt_project_dir


@cache
def _partner_rows() -> tuple[dict[str, str], ...]:
    """The rows of ``seeds/reference/gacc_partners.csv``, read once per process."""
    path = dbt_project_dir() / "seeds" / "reference" / "gacc_partners.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


@cache
def partner_codes() -> frozenset[str]:
    """Every GACC trading-partner code."""
    return frozenset(row["partner_code"] for row in _partner_rows())


@cache
def partner_names() -> dict[str, frozenset[str]]:
    """GACC partner code -> its names as listed (English and Chinese)."""
    return {
        row["partner_code"]: frozenset(n for n in (row["partner_name_en"], row["partner_name_zh"]) if n)
        for row in _partner_rows()
    }


@cache
def iso2_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes of the countries and territories in GACC's partner list."""
    return frozenset(row["iso2"] for row in _partner_rows() if row["iso2"])
