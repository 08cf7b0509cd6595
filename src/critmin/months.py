"""Data months: the month the trade happened, written ``YYYY-MM``."""

from __future__ import annotations

import re
from datetime import date, datetime

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_month(text: str) -> str:
    """Check and normalise a ``YYYY-MM`` month; raise ``ValueError`` with a readable message."""
    text = str(text).strip()
    if not _MONTH.match(text):
        raise ValueError(f"{text!r} is not a month: write it as YYYY-MM, e.g. 2025-05")
    return text


def first_day(month: str) -> date:
    year, mon = parse_month(month).split("-")
    return date(int(year), int(mon), 1)


def month_of(moment: date | datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def previous_month(month: str) -> str:
    day = first_day(month)
    index = day.year * 12 + day.month - 2
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_for_run(requested: str | None, logical_date: date | datetime | None) -> str:
    """Which data month a DAG run processes.

    An explicit ``month`` param wins (manual triggers, ``make run-month``). Otherwise the month
    before the run's logical date: the DAG runs on the 25th, after GACC publishes the previous
    month's breakdown (around the 20th), so the run of 2025-06-25 loads May 2025. Never the clock.
    """
    if requested:
        return parse_month(requested)
    if logical_date is None:
        raise ValueError(
            'this run has no logical date and no "month" param: trigger it with conf {"month": "YYYY-MM"}'
        )
    return previous_month(month_of(logical_date))
