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


def month_for_run(
    requested: str | None, data_interval_start: datetime | None, logical_date: datetime | None
) -> str:
    """Which data month a DAG run processes.

    An explicit ``month`` param wins (manual triggers, ``make run-month``); otherwise the start of the
    run's data interval, so a scheduled or backfilled run for ``[2025-05-01, 2025-06-01)`` loads
    May 2025. Never the wall clock.
    """
    if requested:
        return parse_month(requested)
    moment = data_interval_start or logical_date
    if moment is None:
        raise ValueError(
            'this run has no data interval and no \'month\' param: trigger it with conf {"month": "YYYY-MM"}'
        )
    return month_of(moment)
