"""What a brief shows: its data, read from ``serving.duckdb``, and the words and numbers it is told in."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from critmin.errors import CritminError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import date
    from pathlib import Path

    from critmin.months import Month


#: GACC partner codes: the all-partner total row, and the United States.
WORLD_PARTNER_CODE = "000"
US_PARTNER_CODE = "502"
#: Export-control events this many months either side of the brief's month are listed as near it
#: (the same window as ``anomaly_event_window_months`` in ``dbt_project.yml``).
EVENT_WINDOW_MONTHS = 2
#: Destinations in the brief's table.
TOP_DESTINATIONS = 10
SOURCE_NOTE = "Source: GACC via critmin serving.duckdb"

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class BriefError(CritminError):
    """The brief cannot be written (no serving file, or the month is not in it)."""


@dataclass(frozen=True)
class BriefFiles:
    """What ``write_brief`` wrote."""

    markdown: Path
    html: Path
    png: Path


@dataclass(frozen=True)
class ExportRow:
    """One row of ``marts.fct_magnet_exports_monthly`` for the brief's month."""

    partner_code: str
    partner_iso3: str | None
    partner_name: str | None
    quantity_t: Decimal
    mom_pct: Decimal | None
    yoy_pct: Decimal | None
    share_of_world_pct: Decimal | None


@dataclass(frozen=True)
class PolicyEvent:
    """One row of ``marts.dim_policy_event``."""

    event_on: date
    authority: str
    reference: str
    event_type: str
    summary: str
    in_force_until: date | None


@dataclass(frozen=True)
class HeadlineFigure:
    """One row of ``marts.fct_commodity_trade`` for the brief's month: a single month, or January
    and February printed as one period."""

    series_id: str
    commodity: str
    flow: str  # "export" or "import"
    period_kind: str  # "month" or "jan_feb"
    quantity_t: Decimal
    mom_pct: Decimal | None
    yoy_pct: Decimal | None
    release_kind: str  # "flash" or "monthly_table"


@dataclass(frozen=True)
class Release:
    """A release the brief's month's figures come from (``marts.fct_trade_vintages``)."""

    family: str  # "headline" (GACC's commodity tables) or "magnets" (the customs platform)
    flow: str  # "export" or "import"
    released_on: date  # the latest release of the month's figures of this flow
    release_kind: str  # "flash", "monthly_table" or "query_platform"
    date_basis: str  # "publisher" (GACC's day), "supplied" (named when landed) or "landing"
    first_published_on: date | None  # None: these are the figures as first published


@dataclass(frozen=True)
class Revision:
    """A figure of an earlier period GACC revised since the previous brief
    (``marts.fct_trade_vintages``, change_kind revised)."""

    series_id: str
    commodity: str | None
    flow: str
    partner_name: str | None  # the destination, for magnet exports
    period_kind: str
    period_start: date
    period_end: date
    before_t: Decimal
    after_t: Decimal
    released_on: date
    release_kind: str
    date_basis: str


@dataclass(frozen=True)
class Brief:
    """Everything the brief shows, read from ``serving.duckdb``, with its sentences."""

    month: Month
    hs8_code: str | None  # None when the month's magnet exports are not published yet
    #: The sentences, in paragraphs: the headline series (when published), the total, the United
    #: States, the events.
    paragraphs: tuple[tuple[str, ...], ...]
    #: The month's destinations by tonnes (the world total first when there is one).
    destinations: tuple[ExportRow, ...]
    #: Events within ``EVENT_WINDOW_MONTHS`` of the month, and earlier ones still in force in it.
    events_near: tuple[PolicyEvent, ...]
    events_in_force: tuple[PolicyEvent, ...]
    #: The chart's data: every month from the first to the last in serving, and the tonnes of each
    #: published month to the world and to the United States (unpublished months are absent).
    first_month: Month
    last_month: Month
    world_t: Mapping[Month, float] = field(default_factory=dict)
    us_t: Mapping[Month, float] = field(default_factory=dict)
    all_events: tuple[PolicyEvent, ...] = ()
    #: GACC's headline series for the month (rare-earth exports and imports), and each one's
    #: single months for the chart (series id -> month -> tonnes).
    headline: tuple[HeadlineFigure, ...] = ()
    headline_t: Mapping[str, Mapping[Month, float]] = field(default_factory=dict)
    #: The day the brief is written as of (every figure as known that day), the releases the
    #: month's figures come from, and the revisions of earlier figures published since the
    #: previous month's figures.
    as_of: date | None = None
    releases: tuple[Release, ...] = ()
    revisions: tuple[Revision, ...] = ()

    @property
    def sentences(self) -> tuple[str, ...]:
        return tuple(sentence for paragraph in self.paragraphs for sentence in paragraph)

    @property
    def title(self) -> str:
        if self.headline and self.hs8_code:
            return f"China's rare earths and rare-earth magnets, {month_name(self.month)}"
        if self.headline:
            return f"China's rare-earth trade, {month_name(self.month)}"
        return f"China's rare-earth magnet exports, {month_name(self.month)}"

    @property
    def window_text(self) -> str:
        start, end = self.month.shifted(-EVENT_WINDOW_MONTHS), self.month.shifted(EVENT_WINDOW_MONTHS)
        return f"{month_name(start)} to {month_name(end)}"


# --- words and numbers ---------------------------------------------------------------------------


def month_name(month: Month) -> str:
    """``September 2025``."""
    return f"{MONTH_NAMES[month.month - 1]} {month.year}"


def comparison_name(month: Month, other: Month) -> str:
    """``August`` for a month of the same year, else ``September 2024``."""
    return MONTH_NAMES[other.month - 1] if other.year == month.year else month_name(other)


def as_decimal(value: object) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def format_tonnes(value: Decimal) -> str:
    """Tonnes to one decimal, with thousands separators, without a trailing ``.0``: ``5,774``,
    ``420.5``."""
    rounded = value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    text = f"{rounded:,.1f}"
    return text.removesuffix(".0")


def format_precise(value: Decimal) -> str:
    """A figure with the digits it was printed with, without trailing zeros: ``0.12``,
    ``32,569.28``, ``5,774``."""
    text = f"{abs(value):,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return ("-" if value < 0 else "") + text


def day_text(day: date) -> str:
    """``14 July 2025``."""
    return f"{day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


def period_text(kind: str, start: date, end: date) -> str:
    """``January-June 2025``, ``January and February 2025``, ``August 2025``."""
    if kind == "month":
        return f"{MONTH_NAMES[end.month - 1]} {end.year}"
    if kind == "jan_feb":
        return f"January and February {end.year}"
    if start.month == end.month:
        return f"{MONTH_NAMES[end.month - 1]} {end.year}"
    return f"{MONTH_NAMES[start.month - 1]}-{MONTH_NAMES[end.month - 1]} {end.year}"


def format_pct(value: Decimal) -> str:
    """A percentage to one decimal, rounded half up: ``6.1`` for 6.05."""
    return f"{value.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):,.1f}"


def change_words(pct: Decimal) -> tuple[str, str]:
    """The verb and the size of a change: ``("fell", "6.1%")``."""
    if pct == 0:
        return "was unchanged", ""
    size = format_pct(abs(pct))
    if size == "0.0":
        size = "less than 0.1"
    return ("rose" if pct > 0 else "fell"), f"{size}%"


def missing_sentence(what: str, other: Month, kind: str) -> str:
    return f"No figure{what} was published for {month_name(other)}, so no {kind} change is given."
