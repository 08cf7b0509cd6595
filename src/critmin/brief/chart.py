"""The brief's chart: the series on a continuous monthly axis, gaps left as gaps, the events marked."""

from __future__ import annotations

import io
import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from critmin.brief.model import MONTH_NAMES, SOURCE_NOTE, Brief, PolicyEvent, format_tonnes, month_name
from critmin.months import Month

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import date


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
#: GACC's headline series: rare-earth exports and imports.
_HEADLINE_STYLES: dict[str, dict[str, Any]] = {
    "export": {"color": "#2e7d32", "linestyle": "-", "marker": "^"},
    "import": {"color": "#7b3fa0", "linestyle": "--", "marker": "v"},
}


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
    flows = {f.series_id: f.flow for f in brief.headline}
    headline = {
        series_id: monthly_series(values, brief.first_month, brief.last_month)
        for series_id, values in sorted(brief.headline_t.items())
    }
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
        for series_id, values in headline.items():
            style = _HEADLINE_STYLES.get(flows.get(series_id) or series_id.rsplit("_", 1)[-1], {})
            ax.plot(xs, values, linewidth=1.6, markersize=4, zorder=3, **style)
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

        every = world + us + [v for values in headline.values() for v in values]
        highest = max([v for v in every if not math.isnan(v)], default=1.0)
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
            "China's rare-earth magnet exports"
            + (f" (HS {brief.hs8_code})" if brief.hs8_code else "")
            + (" and rare-earth trade" if headline else "")
            + ", tonnes per month",
            fontsize=14,
            fontweight="bold",
        )
        fig.text(
            left_in / width_in,
            1 - 0.6 / height_in,
            "Magnets to the world and the United States"
            + ("; rare earths (GACC's headline tables) exported and imported" if headline else "")
            + f"; {month_name(brief.month)} highlighted; gaps are months with no published figure.",
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
            *(
                Line2D([], [], linewidth=1.6, markersize=4, label=f"rare earths, {flow}s", **style)
                for flow, style in _HEADLINE_STYLES.items()
                if flow in flows.values()
            ),
            Line2D([], [], color=_EVENT_COLOUR, linestyle="--", linewidth=1, label="export-control event"),
            Patch(color=_HIGHLIGHT_COLOUR, alpha=0.55, label=month_name(brief.month)),
            Patch(color=_GAP_COLOUR, label="no total published"),
        ]
        fig.legend(
            handles=handles,
            loc="center left",
            bbox_to_anchor=(left_in / width_in, 0.42 / height_in),
            ncol=min(len(handles), 4),
            frameon=False,
            fontsize=9,
            handlelength=2.2,
            columnspacing=1.4,
        )
        fig.text(left_in / width_in, 0.12 / height_in, SOURCE_NOTE, fontsize=8.5, color="#555555")

        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()
