"""Data months: the month the trade happened, written ``YYYY-MM``.

A month is parsed once, where it enters (a CLI argument, a DAG param, a logical date), into a
``Month``; everything below takes the value. ``str(month)`` is ``"YYYY-MM"``, the form used in
folder names, logs, XComs and the manifest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: object) -> Month:
        """Check a ``YYYY-MM`` month; raise ``ValueError`` with a readable message."""
        if isinstance(text, Month):
            return text
        match = _MONTH.match(str(text).strip())
        if not match:
            raise ValueError(f"{text!r} is not a month: write it as YYYY-MM, e.g. 2025-05")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, moment: date | datetime) -> Month:
        return cls(moment.year, moment.month)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def shifted(self, months: int) -> Month:
        """The month ``months`` later (earlier when negative)."""
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def index(self) -> int:
        """Months since year 0: the distance between two months is a difference of indexes."""
        return self.year * 12 + self.month - 1

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def month_for_run(requested: str | None, logical_date: date | datetime | None) -> Month:
    """Which data month a DAG run processes.

    An explicit ``month`` param wins (manual triggers, ``make run-month``). Otherwise the month
    before the run's logical date: the DAG runs on the 25th, after GACC publishes the previous
    month's breakdown (around the 20th), so the run of 2025-06-25 loads May 2025. Never the clock.
    """
    if requested:
        return Month.parse(requested)
    if logical_date is None:
        raise ValueError(
            'this run has no logical date and no "month" param: trigger it with conf {"month": "YYYY-MM"}'
        )
    return Month.of(logical_date).shifted(-1)
