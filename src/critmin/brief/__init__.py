"""The monthly brief: a few sentences, a chart and a table for one month, from ``serving.duckdb``.

``write_brief`` writes ``YYYY-MM.md``, ``YYYY-MM.html`` and ``YYYY-MM.png`` into a folder. Every
number in them is read from the published marts as it was known on the brief's day: the day of the
latest release of the month's own figures (``marts.fct_trade_vintages``, ``marts.dim_policy_event``),
so a brief re-read after GACC revised says what it said then, and names the releases it uses
("as first published in GACC's flash tables of 14 July 2025") and the revisions of earlier figures
published since the previous month's. Nothing is estimated. A month whose comparison month had
no figure that day (not published) gets no change figure, and the brief says so in words.

Percentages are computed in SQL exactly as the marts compute ``mom_pct`` and ``yoy_pct`` (rounded to
two decimals), from the figures as known that day, so a month never revised reads as the marts
do; they are shown to one decimal rounded half up: September 2025's change of -6.05 reads "fell
6.1%", the figure published in the press (the unrounded change, 5,774 t against 6,145.623 t, is
-6.047%).

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
    Release,
    Revision,
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
    "Release",
    "Revision",
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
