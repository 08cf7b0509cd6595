"""The brief's pages (Markdown and HTML) and writing the three files."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from critmin.brief.chart import render_chart
from critmin.brief.model import (
    MONTH_NAMES,
    SOURCE_NOTE,
    TOP_DESTINATIONS,
    Brief,
    BriefFiles,
    PolicyEvent,
    day_text,
    format_pct,
    format_tonnes,
    month_name,
)
from critmin.brief.queries import read_brief
from critmin.files import write_atomically

if TYPE_CHECKING:
    from datetime import date
    from decimal import Decimal
    from pathlib import Path

    from critmin.months import Month


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


def as_of_text(brief: Brief) -> str:
    """The line under the title: the day every figure is as known."""
    return f"Figures as published by {day_text(brief.as_of)}." if brief.as_of else ""


def _marts_text(brief: Brief) -> str:
    day = f"as of {brief.as_of.isoformat()}, " if brief.as_of else ""
    return f"marts.fct_trade_vintages {day}marts.dim_policy_event"


def markdown_escape(text: str) -> str:
    """Text from the data, escaped so Markdown shows it as written."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def render_markdown(brief: Brief, image_name: str) -> str:
    out = [f"# {markdown_escape(brief.title)}", ""]
    if brief.as_of:
        out += [f"*{markdown_escape(as_of_text(brief))}*", ""]
    for paragraph in brief.paragraphs:
        out += [markdown_escape(" ".join(paragraph)), ""]
    out += [f"![{markdown_escape(brief.title)}: chart]({image_name})", ""]
    if brief.destinations:
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
    out += ["", f"{SOURCE_NOTE} ({_marts_text(brief)})."]
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
    if brief.as_of:
        out.append(f'<p class="note">{e(as_of_text(brief))}</p>')
    out += [f"<p>{e(' '.join(paragraph))}</p>" for paragraph in brief.paragraphs]
    out.append(
        f'<figure><img src="{e(image_name)}" alt="{e(brief.title)}: monthly exports to the world and '
        f'to the United States, with export-control events" width="1000"></figure>'
    )
    if brief.destinations:
        out.append(f"<h2>Top destinations, {e(month_name(brief.month))}</h2>")
        out.append("<table>")
        header = "".join(_cell("th", i, e(h)) for i, h in enumerate(_TABLE_HEADER))
        out.append(f"<thead><tr>{header}</tr></thead>")
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
    out.append(f'<p class="source">{e(SOURCE_NOTE)} ({e(_marts_text(brief))}).</p>')
    out += ["</main>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


# --- writing -------------------------------------------------------------------------------------


def write_brief(
    serving_db: Path, briefs_dir: Path, month: str | Month, as_of: date | None = None
) -> BriefFiles:
    """Write the month's brief into ``briefs_dir``: ``YYYY-MM.md``, ``YYYY-MM.html`` and
    ``YYYY-MM.png``, each atomically (the chart first, so a page never links a missing chart).
    Every figure is as known on the brief's day (``read_brief``; by ``as_of`` when given).

    Raises ``BriefError`` when ``serving_db`` does not exist or the month has no row in it.
    """
    brief = read_brief(serving_db, month, as_of)
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
