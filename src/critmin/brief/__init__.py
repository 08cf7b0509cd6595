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

The package's parts: ``model`` (the brief's data and the words for numbers), ``queries`` (reading
``serving.duckdb``), ``prose`` (the sentences), ``chart`` (the PNG) and ``pages`` (Markdown, HTML,
and ``write_brief``).
"""

from critmin.brief.chart import label_rows, month_range, monthly_series, render_chart
from critmin.brief.model import (
    Brief,
    BriefError,
    BriefFiles,
    ExportRow,
    HeadlineFigure,
    PolicyEvent,
    month_name,
)
from critmin.brief.pages import markdown_escape, render_html, render_markdown, write_brief
from critmin.brief.prose import compose_paragraphs
from critmin.brief.queries import read_brief

__all__ = [
    "Brief",
    "BriefError",
    "BriefFiles",
    "ExportRow",
    "HeadlineFigure",
    "PolicyEvent",
    "compose_paragraphs",
    "label_rows",
    "markdown_escape",
    "month_name",
    "month_range",
    "monthly_series",
    "read_brief",
    "render_chart",
    "render_html",
    "render_markdown",
    "write_brief",
]
