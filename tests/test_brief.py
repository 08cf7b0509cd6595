"""The monthly brief: its sentences come from the marts, gaps stay gaps, the files are whole."""

from __future__ import annotations

import csv
import io
import math
from datetime import date
from decimal import Decimal

from conftest import PUBLISHED

from critmin import brief
from critmin.brief import Brief, ExportRow, PolicyEvent
from critmin.months import Month

SEPTEMBER = Month(2025, 9)
AUGUST = Month(2025, 8)
WORLD, US = "000", "502"


# --- without a warehouse -------------------------------------------------------------------------


def test_the_series_has_nan_exactly_at_the_unpublished_months():
    with PUBLISHED.open(encoding="utf-8", newline="") as handle:
        world = {
            Month.parse(row["month"]): float(row["quantity_t"])
            for row in csv.DictReader(handle)
            if row["destination"] == "WORLD"
        }
    first, last = min(world), max(world)
    series = brief.monthly_series(world, first, last)
    months = brief.month_range(first, last)

    assert len(series) == len(months) == last.index - first.index + 1
    gaps = [str(m) for m, value in zip(months, series, strict=True) if math.isnan(value)]
    assert gaps == ["2024-08", "2024-11", "2024-12", "2025-02", "2025-03", "2026-01", "2026-02"]
    assert all(series[m.index - first.index] == world[m] for m in world)


def test_the_series_of_one_month_and_an_empty_one():
    may = Month(2025, 5)
    assert brief.monthly_series({may: 46.4}, may, may) == [46.4]
    assert all(math.isnan(v) for v in brief.monthly_series({}, Month(2025, 1), Month(2025, 3)))


def _row(code, name, tonnes, mom=None, yoy=None, share=None, iso3=None) -> ExportRow:
    def d(value):
        return None if value is None else Decimal(str(value))

    return ExportRow(code, iso3, name, Decimal(str(tonnes)), d(mom), d(yoy), d(share))


def _hand_made(month=SEPTEMBER, destinations=(), events=()) -> Brief:
    world = {Month(2025, 1): 6357.0, Month(2025, 4): 2627.0, Month(2025, 5): 1238.47, Month(2025, 6): 3188.0}
    us = {Month(2025, 5): 46.4, Month(2025, 6): 353.0}
    return Brief(
        month=month,
        hs8_code="85051110",
        paragraphs=(('A sentence with <tags> & "quotes" and *stars*.',),),
        destinations=tuple(destinations),
        events_near=tuple(events),
        events_in_force=(),
        first_month=Month(2025, 1),
        last_month=Month(2025, 6),
        world_t=world,
        us_t=us,
        all_events=tuple(events),
    )


def test_the_pages_escape_text_from_the_data():
    nasty = "<script>alert('x')</script> & Co | [link](http://x)"
    event = PolicyEvent(date(2025, 4, 4), "MOFCOM & GACC", "Ann. <18>", "export_control", nasty, None)
    b = _hand_made(
        month=Month(2025, 5),
        destinations=[_row(WORLD, "World", 1238.47, share=100), _row("999", nasty, 1)],
        events=[event],
    )
    page = brief.render_html(b, 'x".png')
    assert "<script>" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; Co" in page
    assert "MOFCOM &amp; GACC, Ann. &lt;18&gt;" in page
    assert "&lt;tags&gt; &amp; &quot;quotes&quot;" in page
    assert 'src="x&quot;.png"' in page
    markdown = brief.render_markdown(b, "2025-05.png")
    assert r"\<script\>" in markdown and r"\| \[link\](http://x)" in markdown and r"\*stars\*" in markdown
    assert "<script>" not in markdown


def test_rises_say_rose_and_a_zero_comparison_month_gives_no_change():
    month = Month(2025, 6)
    world = _row(WORLD, "World", 3188, mom=157.41, yoy=None, share=100)
    us = _row(US, "United States", 353, mom=None, yoy=None, share=11.07)
    rows = {(WORLD, Month(2025, 5)), (US, Month(2025, 5))}  # May has a US row: it was zero
    text = " ".join(s for p in brief.compose_paragraphs(month, "85051110", world, us, rows, ()) for s in p)
    assert "Total exports rose 157.4% from May." in text
    assert "Exports to the United States were 353 tonnes." in text
    assert (
        "Exports to the United States in May 2025 were zero, so no month-over-month change is given." in text
    )
    assert "No figure was published for June 2024, so no year-over-year change is given." in text
    assert "No export-control events are recorded from April 2025 to August 2025." in text
    assert "The United States took 11.1% of the total." in text

    january = brief.compose_paragraphs(
        Month(2025, 1), "85051110", _row(WORLD, "World", 6357, mom=-1.5, yoy=20.44), None, set(), ()
    )
    assert "Total exports fell 1.5% from December 2024 and rose 20.4% from January 2024." in january[0]
    assert january[1] == ("No figure for exports to the United States was published for January 2025.",)


def test_event_labels_neither_overlap_nor_sit_on_another_events_line():
    # Five events in six weeks (October to early December 2025), 40 px a month.
    positions = [11.6, 38.7, 49.0, 51.6, 84.0]
    widths = [130.0, 80.0, 110.0, 110.0, 100.0]
    placed = brief.label_rows(positions, widths, right_edge=400)
    spans = [(x, x + w) for x, w in zip(positions, widths, strict=True)]
    for i, (row_i, left_i) in enumerate(placed):
        assert not left_i
        for j, (row_j, _) in enumerate(placed):
            if i != j and spans[i][0] <= positions[j] <= spans[i][1]:
                assert row_i > row_j, (i, j)  # j's line stops below i's label
            if i < j and spans[i][0] < spans[j][1] and spans[j][0] < spans[i][1]:
                assert row_i != row_j
    # At the right edge a label points left; far apart, all stay on the first row.
    assert brief.label_rows([390.0], [100.0], right_edge=400) == [(0, True)]
    assert brief.label_rows([0.0, 200.0, 400.0], [100.0, 100.0, 100.0], 1000) == [(0, False)] * 3


def test_the_chart_is_a_png_of_sane_size_and_the_same_bytes_each_time():
    from PIL import Image

    events = [
        PolicyEvent(date(2025, 4, 4), "MOFCOM and GACC", "Announcement 18/2025", "export_control", "x", None),
        PolicyEvent(date(2025, 4, 20), "MOFCOM", "Other", "suspension", "y", None),
    ]
    b = _hand_made(month=Month(2025, 5), events=events)
    png = brief.render_chart(b)
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        width, height = image.size
    assert width == 1000 and 500 <= height <= 900
    assert brief.render_chart(b) == png
