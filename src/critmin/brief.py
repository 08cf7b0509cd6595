"""The monthly brief: a few sentences, a chart and a table for one month, from ``serving.duckdb``.

``write_brief`` writes ``YYYY-MM.md``, ``YYYY-MM.html`` and ``YYYY-MM.png`` into a folder. Every
number in them is read from the published marts (``marts.fct_magnet_exports_monthly`` and
``marts.dim_policy_event``); nothing is estimated. A month whose comparison month has no row (not
published) gets no change figure, and the brief says so in words: the marts' ``mom_pct`` and
``yoy_pct`` are NULL there, and the brief never computes a change of its own.

Percentages are the marts' own values, which the mart rounds to two decimals, shown to one decimal
rounded half up: September 2025's ``mom_pct`` of -6.05 reads "fell 6.1%", the figure published in
the press. (The unrounded change, 5,774 t against 6,145.623 t, is -6.047%: the brief repeats the
mart rather than recomputing from the tonnes.)

The files are written to a temporary name and renamed into place, the chart first, so a reader
never sees half a brief. The chart is drawn with matplotlib's Agg canvas, imported only when a
chart is drawn (matplotlib takes a while to import), with matplotlib's default style and no
timestamp in the PNG: the same data gives the same bytes.
"""

from __future__ import annotations

import html
import io
import math
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from critmin.errors import CritminError
from critmin.files import write_atomically
from critmin.months import Month

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence
    from datetime import date
    from pathlib import Path

    import duckdb

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
class Brief:
    """Everything the brief shows, read from ``serving.duckdb``, with its sentences."""

    month: Month
    hs8_code: str
    #: The sentences, in paragraphs: the total, the United States, the events.
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

    @property
    def sentences(self) -> tuple[str, ...]:
        return tuple(sentence for paragraph in self.paragraphs for sentence in paragraph)

    @property
    def title(self) -> str:
        return f"China's rare-earth magnet exports, {month_name(self.month)}"

    @property
    def window_text(self) -> str:
        start, end = self.month.shifted(-EVENT_WINDOW_MONTHS), self.month.shifted(EVENT_WINDOW_MONTHS)
        return f"{month_name(start)} to {month_name(end)}"


# --- words and numbers ---------------------------------------------------------------------------


def month_name(month: Month) -> str:
    """``September 2025``."""
    return f"{MONTH_NAMES[month.month - 1]} {month.year}"


def _comparison_name(month: Month, other: Month) -> str:
    """``August`` for a month of the same year, else ``September 2024``."""
    return MONTH_NAMES[other.month - 1] if other.year == month.year else month_name(other)


def _decimal(value: object) -> Decimal | None:
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


def format_pct(value: Decimal) -> str:
    """A percentage to one decimal, rounded half up: ``6.1`` for 6.05."""
    return f"{value.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):,.1f}"


def _change(pct: Decimal) -> tuple[str, str]:
    """The verb and the size of a change: ``("fell", "6.1%")``."""
    if pct == 0:
        return "was unchanged", ""
    size = format_pct(abs(pct))
    if size == "0.0":
        size = "less than 0.1"
    return ("rose" if pct > 0 else "fell"), f"{size}%"


def _missing(what: str, other: Month, kind: str) -> str:
    return f"No figure{what} was published for {month_name(other)}, so no {kind} change is given."


def _world_sentences(
    month: Month, hs8_code: str, world: ExportRow | None, previous: Mapping[str, bool]
) -> list[str]:
    if world is None:
        return [f"No total over all destinations was published for {month_name(month)}."]
    headline = (
        f"China exported {format_tonnes(world.quantity_t)} tonnes of rare-earth magnets "
        f"(HS {hs8_code}) in {month_name(month)}."
    )
    changes: list[str] = []
    notes: list[str] = []
    for pct, other, key, kind in (
        (world.mom_pct, month.shifted(-1), "mom", "month-over-month"),
        (world.yoy_pct, month.shifted(-12), "yoy", "year-over-year"),
    ):
        if pct is not None:
            verb, size = _change(pct)
            changes.append(" ".join(filter(None, (verb, size, "from", _comparison_name(month, other)))))
        elif previous[key]:
            notes.append(f"The total for {month_name(other)} was zero, so no {kind} change is given.")
        else:
            notes.append(_missing("", other, kind))
    sentences = [headline]
    if changes:
        sentences.append("Total exports " + " and ".join(changes) + ".")
    return sentences + notes


def _us_sentences(month: Month, us: ExportRow | None, previous: Mapping[str, bool]) -> list[str]:
    if us is None:
        return [f"No figure for exports to the United States was published for {month_name(month)}."]
    tonnes = format_tonnes(us.quantity_t)
    previous_month, previous_year = month.shifted(-1), month.shifted(-12)
    sentences = []
    if us.mom_pct is None:
        sentences.append(f"Exports to the United States were {tonnes} tonnes.")
        if previous["mom"]:
            sentences.append(
                f"Exports to the United States in {month_name(previous_month)} were zero, "
                "so no month-over-month change is given."
            )
        else:
            sentences.append(
                _missing(" for exports to the United States", previous_month, "month-over-month")
            )
    elif us.mom_pct == 0:
        sentences.append(
            f"Exports to the United States were unchanged from "
            f"{_comparison_name(month, previous_month)} at {tonnes} tonnes."
        )
    else:
        verb, size = _change(us.mom_pct)
        sentences.append(
            f"Exports to the United States {verb} {size} from "
            f"{_comparison_name(month, previous_month)} to {tonnes} tonnes."
        )
    if us.yoy_pct is not None:
        verb, size = _change(us.yoy_pct)
        sentences.append(
            " ".join(filter(None, ("They", verb, size, "from", month_name(previous_year)))) + "."
        )
    elif previous["yoy"]:
        sentences.append(
            f"Exports to the United States in {month_name(previous_year)} were zero, "
            "so no year-over-year change is given."
        )
    else:
        sentences.append(_missing(" for exports to the United States", previous_year, "year-over-year"))
    if us.share_of_world_pct is not None:
        sentences.append(f"The United States took {format_pct(us.share_of_world_pct)}% of the total.")
    return sentences


def _events_sentence(month: Month, events_near: Sequence[PolicyEvent]) -> str:
    start, end = month.shifted(-EVENT_WINDOW_MONTHS), month.shifted(EVENT_WINDOW_MONTHS)
    span = f"from {month_name(start)} to {month_name(end)}"
    if not events_near:
        return f"No export-control events are recorded {span}."
    noun = "event is" if len(events_near) == 1 else "events are"
    return f"{len(events_near)} export-control {noun} recorded {span}."


def compose_paragraphs(
    month: Month,
    hs8_code: str,
    world: ExportRow | None,
    us: ExportRow | None,
    comparison_rows: Collection[tuple[str, Month]],
    events_near: Sequence[PolicyEvent],
) -> tuple[tuple[str, ...], ...]:
    """The brief's sentences, in three paragraphs (the total, the United States, the events),
    from the month's world and US rows of the mart.

    ``comparison_rows`` holds the (partner code, month) of the comparison months that have a row in
    the mart: a NULL change is "not published" when the row is absent, "against zero" otherwise.
    """
    previous = {
        partner: {
            "mom": (partner, month.shifted(-1)) in comparison_rows,
            "yoy": (partner, month.shifted(-12)) in comparison_rows,
        }
        for partner in (WORLD_PARTNER_CODE, US_PARTNER_CODE)
    }
    return (
        tuple(_world_sentences(month, hs8_code, world, previous[WORLD_PARTNER_CODE])),
        tuple(_us_sentences(month, us, previous[US_PARTNER_CODE])),
        (_events_sentence(month, events_near),),
    )


# --- reading serving.duckdb ----------------------------------------------------------------------


def connect_serving(serving_db: Path) -> duckdb.DuckDBPyConnection:
    """A safe read-only connection to ``serving.duckdb`` (``critmin.serving.open_serving``:
    read-only, external access off)."""
    from critmin.serving import open_serving

    if not serving_db.is_file():
        raise BriefError(f"{serving_db} does not exist: publish a month first (make run-month MONTH=YYYY-MM)")
    return open_serving(serving_db)


def _export_row(record: Sequence[Any]) -> ExportRow:
    code, iso3, name, tonnes, mom, yoy, share = record
    quantity = Decimal(str(tonnes))  # not null (the mart's contract)
    return ExportRow(code, iso3, name, quantity, _decimal(mom), _decimal(yoy), _decimal(share))


def _policy_event(record: Sequence[Any]) -> PolicyEvent:
    event_on, authority, reference, event_type, summary, until = record
    return PolicyEvent(event_on, authority or "", reference or "", event_type or "", summary or "", until)


def read_brief(serving_db: Path, month: str | Month) -> Brief:
    """Read the month's rows, its comparison months, the chart's series and the events from
    ``serving.duckdb``, and compose the sentences. Raises ``BriefError`` when the month has no row."""
    month = Month.parse(month)
    with connect_serving(serving_db) as con:
        hs_codes = [
            code
            for (code,) in con.execute(
                "select distinct hs8_code from marts.fct_magnet_exports_monthly where month = ? order by 1",
                [month.first_day],
            ).fetchall()
        ]
        if not hs_codes:
            published = [
                m
                for (m,) in con.execute(
                    "select distinct strftime(month, '%Y-%m') from marts.fct_magnet_exports_monthly "
                    "order by 1"
                ).fetchall()
            ]
            listed = ", ".join(published) if published else "none"
            raise BriefError(
                f"{month} is not in {serving_db}: marts.fct_magnet_exports_monthly has no row for it "
                f"(months published: {listed}). Land and run the month first "
                f"(make run-month MONTH={month}), or pick a published month."
            )
        if len(hs_codes) > 1:
            raise BriefError(
                f"{month} has several tariff codes ({', '.join(hs_codes)}): the brief covers one"
            )
        hs8_code = hs_codes[0]
        rows = [
            _export_row(record)
            for record in con.execute(
                """
                select partner_code, partner_iso3, partner_name, quantity_t, mom_pct, yoy_pct,
                    share_of_world_pct
                from marts.fct_magnet_exports_monthly
                where month = ? and hs8_code = ?
                order by partner_code = ? desc, quantity_t desc, partner_code
                """,
                [month.first_day, hs8_code, WORLD_PARTNER_CODE],
            ).fetchall()
        ]
        comparisons = {
            (code, Month.of(m))
            for code, m in con.execute(
                "select partner_code, month from marts.fct_magnet_exports_monthly "
                "where hs8_code = ? and month in (?, ?) and partner_code in (?, ?)",
                [
                    hs8_code,
                    month.shifted(-1).first_day,
                    month.shifted(-12).first_day,
                    WORLD_PARTNER_CODE,
                    US_PARTNER_CODE,
                ],
            ).fetchall()
        }
        series = con.execute(
            "select month, partner_code, quantity_t from marts.fct_magnet_exports_monthly "
            "where hs8_code = ? and partner_code in (?, ?) order by month",
            [hs8_code, WORLD_PARTNER_CODE, US_PARTNER_CODE],
        ).fetchall()
        first, last = con.execute(
            "select min(month), max(month) from marts.fct_magnet_exports_monthly where hs8_code = ?",
            [hs8_code],
        ).fetchone() or (month.first_day, month.first_day)
        events = [
            _policy_event(record)
            for record in con.execute(
                "select event_on, authority, reference, event_type, summary, in_force_until "
                "from marts.dim_policy_event order by event_on, event_id"
            ).fetchall()
        ]

    by_partner = {row.partner_code: row for row in rows}
    start, end = month.shifted(-EVENT_WINDOW_MONTHS), month.shifted(EVENT_WINDOW_MONTHS)
    near = tuple(e for e in events if start <= Month.of(e.event_on) <= end)
    in_force = tuple(
        e
        for e in events
        if Month.of(e.event_on) < start and (e.in_force_until is None or e.in_force_until >= month.first_day)
    )
    world_t: dict[Month, float] = {}
    us_t: dict[Month, float] = {}
    for m, code, tonnes in series:
        (world_t if code == WORLD_PARTNER_CODE else us_t)[Month.of(m)] = float(tonnes)
    return Brief(
        month=month,
        hs8_code=hs8_code,
        paragraphs=compose_paragraphs(
            month,
            hs8_code,
            by_partner.get(WORLD_PARTNER_CODE),
            by_partner.get(US_PARTNER_CODE),
            comparisons,
            near,
        ),
        destinations=tuple(rows),
        events_near=near,
        events_in_force=in_force,
        first_month=Month.of(first),
        last_month=Month.of(last),
        world_t=world_t,
        us_t=us_t,
        all_events=tuple(events),
    )


# --- the chart -----------------------------------------------------------------------------------


def month_range(first: Month, last: Month) -> list[Month]:
    """Every month from ``first`` to ``last``, both included."""
    return [first.shifted(i) for i in range(last.index - first.index + 1)]


def monthly_series(values: Mapping[Month, float], first: Month, last: Month) -> list[float]:
    """The values on a continuous monthly axis from ``first`` to ``last``: NaN for every month
    without a value, so a plotted line breaks there instead of joining across the gap."""
    return [float(values[m]) if m in values else math.nan for m in month_range(first, last)]


def _event_x(event_on: date, first: Month) -> float:
    """An event's position on the chart's axis: month ``first`` spans [0, 1)."""
    month = Month.of(event_on)
    next_first = month.shifted(1).first_day
    days = (next_first - month.first_day).days
    return month.index - first.index + (event_on.day - 1) / days


def event_label(event: PolicyEvent) -> str:
    """A short label: ``9 Oct 2025: export control``."""
    return f"{event.event_on.day} {MONTH_NAMES[event.event_on.month - 1][:3]} {event.event_on.year}: " + (
        event.event_type.replace("_", " ")
    )


def label_rows(
    positions: Sequence[float], widths: Sequence[float], right_edge: float
) -> list[tuple[int, bool]]:
    """Rows for the event labels, drawn as flags on their lines (all in pixels): no two labels
    overlap, and no line crosses another event's label (a label that spans another event's line
    sits above that event's label). A flag that would pass ``right_edge`` points left.

    Returns (row, points_left) per label; row 0 is the lowest.
    """
    count = len(positions)
    spans = []
    for x, width in zip(positions, widths, strict=True):
        points_left = x + width > right_edge
        spans.append(((x - width, x) if points_left else (x, x + width), points_left))
    # must_be_above[i]: the events whose line runs under i's label.
    must_be_above = [
        [j for j in range(count) if j != i and spans[i][0][0] <= positions[j] <= spans[i][0][1]]
        for i in range(count)
    ]
    for i in range(count):  # two labels spanning each other's line: the one pointing left goes up
        for j in list(must_be_above[i]):
            if i in must_be_above[j] and not spans[i][1]:
                must_be_above[i].remove(j)
    rows = [0] * count
    for _ in range(count * count + 1):
        for _ in range(count + 1):  # the longest chain of labels under each label
            changed = False
            for i in range(count):
                need = max((rows[j] + 1 for j in must_be_above[i]), default=0)
                if rows[i] < need:
                    rows[i], changed = need, True
            if not changed:
                break
        clashes = [
            (i, j)
            for i in range(count)
            for j in range(i)
            if rows[i] == rows[j] and spans[i][0][0] < spans[j][0][1] and spans[j][0][0] < spans[i][0][1]
        ]
        if not clashes:
            break
        for i, j in clashes:  # overlapping labels that span neither's line: the later one goes up
            must_be_above[i].append(j)
    return [(row, spans[i][1]) for i, row in enumerate(rows)]


_WORLD_COLOUR = "#1f4e79"
_US_COLOUR = "#c0392b"
_EVENT_COLOUR = "#555555"
_HIGHLIGHT_COLOUR = "#ffd966"
_GAP_COLOUR = "#e6e6e6"


def render_chart(brief: Brief) -> bytes:
    """The brief's chart as PNG bytes (about 1000 px wide).

    Monthly tonnes to the world and to the United States on a continuous monthly axis: a month
    without a published figure is a gap in its line (and shaded grey when no total was published),
    never a line drawn across it; markers show months with no neighbour. Export-control events are
    dashed lines with short labels above the plot, and the brief's month is highlighted.
    """
    import matplotlib
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FixedLocator, FuncFormatter

    months = month_range(brief.first_month, brief.last_month)
    count = len(months)
    xs = [i + 0.5 for i in range(count)]
    world = monthly_series(brief.world_t, brief.first_month, brief.last_month)
    us = monthly_series(brief.us_t, brief.first_month, brief.last_month)
    shown_events = [e for e in brief.all_events if 0 <= _event_x(e.event_on, brief.first_month) < count]
    here = brief.month.index - brief.first_month.index

    dpi = 100
    width_in, left_in, right_in = 10.0, 0.8, 0.35
    axes_w_in = width_in - left_in - right_in
    with matplotlib.style.context("default"), matplotlib.rc_context({"font.size": 10}):
        fig = Figure(dpi=dpi)
        canvas = FigureCanvasAgg(fig)
        renderer = canvas.get_renderer()
        labels = [event_label(e) for e in shown_events]
        label_px = []
        for label in labels:
            text = fig.text(0, 0, label, fontsize=8.5)
            label_px.append(text.get_window_extent(renderer).width + 6)
            text.remove()
        px_per_month = axes_w_in * dpi / count
        positions = [_event_x(e.event_on, brief.first_month) * px_per_month for e in shown_events]
        placed = label_rows(positions, label_px, axes_w_in * dpi + right_in * dpi * 0.8)
        rows = max((row for row, _ in placed), default=-1) + 1
        row_px = 17
        title_in, axes_h_in, bottom_in = 0.8, 3.8, 1.15
        strip_in = (rows * row_px + 8) / dpi if rows else 0.1
        height_in = title_in + strip_in + axes_h_in + bottom_in
        fig.set_size_inches(width_in, height_in)

        def box(bottom: float, height: float) -> tuple[float, float, float, float]:
            return (left_in / width_in, bottom / height_in, axes_w_in / width_in, height / height_in)

        ax = fig.add_axes(box(bottom_in, axes_h_in))
        strip = fig.add_axes(box(bottom_in + axes_h_in, strip_in), sharex=ax)
        strip.set_axis_off()
        strip.set_ylim(0, strip_in * dpi)

        for i, value in enumerate(world):
            if math.isnan(value):
                ax.axvspan(i, i + 1, color=_GAP_COLOUR, linewidth=0, zorder=0)
        ax.axvspan(here, here + 1, color=_HIGHLIGHT_COLOUR, alpha=0.55, linewidth=0, zorder=0)
        ax.plot(xs, world, color=_WORLD_COLOUR, linewidth=2, marker="o", markersize=5, zorder=3)
        ax.plot(xs, us, color=_US_COLOUR, linewidth=2, marker="s", markersize=4.5, zorder=3)
        for series, colour in ((world, _WORLD_COLOUR), (us, _US_COLOUR)):
            if 0 <= here < count and not math.isnan(series[here]):
                ax.annotate(
                    f"{format_tonnes(Decimal(str(series[here])))} t",
                    (xs[here], series[here]),
                    xytext=(0, 8),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=9,
                    fontweight="bold",
                    color=colour,
                    zorder=4,
                    bbox={
                        "boxstyle": "round,pad=0.15",
                        "facecolor": "white",
                        "edgecolor": "none",
                        "alpha": 0.85,
                    },
                )

        for event, label, (row, points_left) in zip(shown_events, labels, placed, strict=True):
            x = _event_x(event.event_on, brief.first_month)
            ax.axvline(x, color=_EVENT_COLOUR, linestyle="--", linewidth=1, zorder=2)
            strip.plot([x, x], [0, 4 + row * row_px + 13], color=_EVENT_COLOUR, linestyle="--", linewidth=1)
            offset = 3 / px_per_month
            strip.text(
                x - offset if points_left else x + offset,
                4 + row * row_px,
                label,
                ha="right" if points_left else "left",
                va="bottom",
                fontsize=8.5,
                color="#333333",
            )

        highest = max([v for v in world + us if not math.isnan(v)], default=1.0)
        ax.set_ylim(0, highest * 1.15)
        ax.set_xlim(0, count)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
        ax.set_ylabel("tonnes")
        ax.grid(axis="y", color="#dddddd", linewidth=0.8)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        step = max(1, math.ceil(count / 24))
        ticks = [i for i in range(count) if i % step == 0]
        ax.xaxis.set_major_locator(FixedLocator([xs[i] for i in ticks]))
        ax.set_xticklabels(
            [
                MONTH_NAMES[months[i].month - 1][:3]
                + (f"\n{months[i].year}" if i == 0 or months[i].month <= step else "")
                for i in ticks
            ],
            fontsize=9,
        )
        ax.xaxis.set_minor_locator(FixedLocator(list(range(count + 1))))
        ax.tick_params(axis="x", which="major", length=0)
        ax.tick_params(axis="x", which="minor", length=4)

        fig.text(
            left_in / width_in,
            1 - 0.32 / height_in,
            f"China's rare-earth magnet exports (HS {brief.hs8_code}), tonnes per month",
            fontsize=14,
            fontweight="bold",
        )
        fig.text(
            left_in / width_in,
            1 - 0.6 / height_in,
            f"World and United States; {month_name(brief.month)} highlighted; "
            "gaps are months with no published figure.",
            fontsize=10,
            color="#333333",
        )
        handles = [
            Line2D(
                [],
                [],
                color=_WORLD_COLOUR,
                linewidth=2,
                marker="o",
                markersize=5,
                label="World (all destinations)",
            ),
            Line2D([], [], color=_US_COLOUR, linewidth=2, marker="s", markersize=4.5, label="United States"),
            Line2D([], [], color=_EVENT_COLOUR, linestyle="--", linewidth=1, label="export-control event"),
            Patch(color=_HIGHLIGHT_COLOUR, alpha=0.55, label=month_name(brief.month)),
            Patch(color=_GAP_COLOUR, label="no total published"),
        ]
        fig.legend(
            handles=handles,
            loc="center left",
            bbox_to_anchor=(left_in / width_in, 0.42 / height_in),
            ncol=len(handles),
            frameon=False,
            fontsize=9,
            handlelength=2.2,
            columnspacing=1.4,
        )
        fig.text(left_in / width_in, 0.12 / height_in, SOURCE_NOTE, fontsize=8.5, color="#555555")

        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


# --- the pages -----------------------------------------------------------------------------------


def _signed_pct(value: Decimal | None) -> str:
    if value is None:
        return "—"
    text = format_pct(value)
    return text if value <= 0 or text.startswith("-") else f"+{text}"


def _table_rows(brief: Brief) -> list[tuple[str, str, str, str, str]]:
    return [
        (
            row.partner_name or row.partner_code,
            format_tonnes(row.quantity_t),
            _signed_pct(row.mom_pct),
            _signed_pct(row.yoy_pct),
            "—" if row.share_of_world_pct is None else format_pct(row.share_of_world_pct),
        )
        for row in brief.destinations[: TOP_DESTINATIONS + 1]
    ]


_TABLE_HEADER = ("Destination", "Tonnes", "Change on month %", "Change on year %", "Share of total %")
_TABLE_NOTE = (
    "Only destinations with a published figure are listed. — means the comparison month has no "
    "published figure, so no change is given."
)


def _date_text(day: date) -> str:
    return f"{day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


def _event_text(event: PolicyEvent) -> tuple[str, str]:
    """(date, the rest): ``9 October 2025``, ``MOFCOM and GACC, Announcement ... (export control):
    ... (in force until 7 November 2025).``"""
    rest = f"{event.authority}, {event.reference} ({event.event_type.replace('_', ' ')}): {event.summary}"
    rest = rest.rstrip().rstrip(".")
    if event.in_force_until is not None:
        rest += f" (in force until {_date_text(event.in_force_until)})"
    return _date_text(event.event_on), rest + "."


def _events_heading(brief: Brief) -> str:
    return f"Export-control events, {brief.window_text}"


def _in_force_heading(brief: Brief) -> str:
    return f"Announced earlier and still in force in {month_name(brief.month)}"


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#])")


def markdown_escape(text: str) -> str:
    """Text from the data, escaped so Markdown shows it as written."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def render_markdown(brief: Brief, image_name: str) -> str:
    out = [f"# {markdown_escape(brief.title)}", ""]
    for paragraph in brief.paragraphs:
        out += [markdown_escape(" ".join(paragraph)), ""]
    out += [f"![{markdown_escape(brief.title)}: chart]({image_name})", ""]
    out += [f"## Top destinations, {month_name(brief.month)}", ""]
    out.append("| " + " | ".join(_TABLE_HEADER) + " |")
    out.append("|---|---:|---:|---:|---:|")
    for cells in _table_rows(brief):
        out.append("| " + " | ".join(markdown_escape(c) for c in cells) + " |")
    out += ["", markdown_escape(_TABLE_NOTE), ""]
    out += [f"## {_events_heading(brief)}", ""]
    if brief.events_near:
        out += [f"- {lead}: {markdown_escape(rest)}" for lead, rest in map(_event_text, brief.events_near)]
    else:
        out.append("None recorded.")
    if brief.events_in_force:
        out += ["", f"{_in_force_heading(brief)}:", ""]
        out += [
            f"- {lead}: {markdown_escape(rest)}" for lead, rest in map(_event_text, brief.events_in_force)
        ]
    out += ["", f"{SOURCE_NOTE} (marts.fct_magnet_exports_monthly, marts.dim_policy_event)."]
    return "\n".join(out) + "\n"


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 0; }
main { max-width: 1040px; margin: 0 auto; padding: 24px; line-height: 1.5; }
h1 { font-size: 1.6em; margin-bottom: 0.4em; }
h2 { font-size: 1.2em; margin-top: 1.6em; }
figure { margin: 1em 0; }
img { max-width: 100%; height: auto; border: 1px solid #ddd; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; }
th { text-align: left; background: #f4f4f4; }
td.n, th.n { text-align: right; }
.note, .source { color: #555; font-size: 0.9em; }
""".strip()


def _cell(tag: str, column: int, escaped: str) -> str:
    """A table cell; every column but the first holds a number, aligned right."""
    attribute = "" if column == 0 else ' class="n"'
    return f"<{tag}{attribute}>{escaped}</{tag}>"


def render_html(brief: Brief, image_name: str) -> str:
    def e(text: str) -> str:
        return html.escape(text, quote=True)

    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(brief.title)}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{e(brief.title)}</h1>",
    ]
    out += [f"<p>{e(' '.join(paragraph))}</p>" for paragraph in brief.paragraphs]
    out.append(
        f'<figure><img src="{e(image_name)}" alt="{e(brief.title)}: monthly exports to the world and '
        f'to the United States, with export-control events" width="1000"></figure>'
    )
    out.append(f"<h2>Top destinations, {e(month_name(brief.month))}</h2>")
    out.append("<table>")
    out.append(
        "<thead><tr>" + "".join(_cell("th", i, e(h)) for i, h in enumerate(_TABLE_HEADER)) + "</tr></thead>"
    )
    out.append("<tbody>")
    for cells in _table_rows(brief):
        out.append("<tr>" + "".join(_cell("td", i, e(c)) for i, c in enumerate(cells)) + "</tr>")
    out += ["</tbody>", "</table>", f'<p class="note">{e(_TABLE_NOTE)}</p>']
    out.append(f"<h2>{e(_events_heading(brief))}</h2>")
    if brief.events_near:
        out.append("<ul>")
        out += [
            f"<li><strong>{e(lead)}</strong>: {e(rest)}</li>"
            for lead, rest in map(_event_text, brief.events_near)
        ]
        out.append("</ul>")
    else:
        out.append("<p>None recorded.</p>")
    if brief.events_in_force:
        out += [f"<p>{e(_in_force_heading(brief))}:</p>", "<ul>"]
        out += [
            f"<li><strong>{e(lead)}</strong>: {e(rest)}</li>"
            for lead, rest in map(_event_text, brief.events_in_force)
        ]
        out.append("</ul>")
    out.append(
        f'<p class="source">{e(SOURCE_NOTE)} (marts.fct_magnet_exports_monthly, marts.dim_policy_event).</p>'
    )
    out += ["</main>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


# --- writing -------------------------------------------------------------------------------------


def write_brief(serving_db: Path, briefs_dir: Path, month: str | Month) -> BriefFiles:
    """Write the month's brief into ``briefs_dir``: ``YYYY-MM.md``, ``YYYY-MM.html`` and
    ``YYYY-MM.png``, each atomically (the chart first, so a page never links a missing chart).

    Raises ``BriefError`` when ``serving_db`` does not exist or the month has no row in it.
    """
    brief = read_brief(serving_db, month)
    briefs_dir.mkdir(parents=True, exist_ok=True)
    files = BriefFiles(
        markdown=briefs_dir / f"{brief.month}.md",
        html=briefs_dir / f"{brief.month}.html",
        png=briefs_dir / f"{brief.month}.png",
    )
    write_atomically(files.png, render_chart(brief))
    write_atomically(files.markdown, render_markdown(brief, files.png.name).encode("utf-8"))
    write_atomically(files.html, render_html(brief, files.png.name).encode("utf-8"))
    return files
