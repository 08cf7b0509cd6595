"""Read a commodity table: its frame (``layout``), then each catalogued line's figures.

The catalogue (``dbt_project/seeds/reference/gacc_table_series.csv``, a dbt seed the marts join
too) says which lines to take: a series is a line's name, its flow, its quantity unit and, per
table kind, the line it sits under (稀土 sits under 稀土及其制品 in table 13, at the top elsewhere).
A table whose catalogued line is missing, doubled or in another unit is refused, as is one whose
cells do not line up with its header. Every other line is ignored.

A line's figures: the month, the year to date (January-February at February) and the prior year's
same period as this release prints it, with the printed y/y %. Quantities keep every printed
decimal and how many there were (the precision a later restatement is compared at); values are
kept as printed and in currency units.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from critmin.months import Month
from critmin.sources.gacc_tables.cells import read_grid
from critmin.sources.gacc_tables.layout import (
    FLASH,
    MONTH,
    MONTHLY_TABLE,
    PRIOR_YTD,
    YOY_MONTH,
    YOY_YTD,
    YTD,
    check_period,
    find_frame,
    find_title,
    refuse,
    squeeze,
)

if TYPE_CHECKING:
    from pathlib import Path

    from critmin.sources.gacc_tables.cells import Grid
    from critmin.sources.gacc_tables.layout import Frame

CATALOGUE = "gacc_table_series.csv"
_MISSING = {"", "-", "—", "－", "#"}
_NUMBER = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?")
_INDENT = " \u00a0\u3000\t"


@dataclass(frozen=True)
class Series:
    """A catalogue entry: which line of which flow's tables is a series."""

    series_id: str
    commodity: str
    line: str
    flow: str
    unit_zh: str
    parents: dict[str, str | None]  # table kind -> the line it sits under (None: top level)
    table_kinds: tuple[str, ...] = (FLASH, MONTHLY_TABLE)  # the tables that print the line


def load_catalogue(seeds_dir: Path) -> list[Series]:
    with (seeds_dir / CATALOGUE).open(encoding="utf-8", newline="") as handle:
        return [
            Series(
                series_id=row["series_id"],
                commodity=row["commodity"],
                line=row["line_zh"],
                flow=row["flow"],
                unit_zh=row["unit_zh"],
                parents={
                    FLASH: row["flash_parent_zh"] or None,
                    MONTHLY_TABLE: row["monthly_table_parent_zh"] or None,
                },
                table_kinds=tuple(row["table_kinds"].split()),
            )
            for row in csv.DictReader(handle)
        ]


@dataclass(frozen=True)
class Figure:
    """One printed figure of a series: a period's quantity and value, as this table prints them."""

    series_id: str
    row: int  # 1-based, as a spreadsheet counts
    printed_as: str  # "current", or "prior_year": last year's period as this release restates it
    period_kind: str  # "month", "jan_feb" (the year to date at February) or "ytd"
    period_start: Month
    period_end: Month
    quantity: Decimal | None
    quantity_decimals: int | None
    value_printed: Decimal | None
    value: Decimal | None  # in currency units (yuan, dollars)
    value_step: Decimal | None  # what the value's last printed digit is worth, in currency units
    yoy_quantity_pct: Decimal | None
    yoy_value_pct: Decimal | None


@dataclass(frozen=True)
class CommodityTable:
    path: Path
    file_type: str
    frame: Frame
    figures: tuple[Figure, ...]

    @property
    def kind(self) -> str:
        return self.frame.title.kind

    @property
    def flow(self) -> str:
        return self.frame.title.flow


def normal_name(text: str) -> str:
    """A line's name for matching: no spaces or line breaks, no aggregate mark, ASCII brackets."""
    return squeeze(text).replace(" ", "").rstrip("*").replace("（", "(").replace("）", ")")


def _number(grid: Grid, row: int, column: int) -> tuple[Decimal | None, int | None]:
    text = squeeze(grid.cell(row, column)).replace(" ", "")
    if text in _MISSING:
        return None, None
    found = _NUMBER.fullmatch(text)
    if not found:
        raise refuse(grid, f"{text!r} is not a number", "numbers_readable", row, column)
    return Decimal(text.replace(",", "")), len(found.group(1) or "")


@dataclass(frozen=True)
class _Line:
    row: int
    name: str
    parent: str | None
    unit: str


def _lines(grid: Grid, frame: Frame) -> list[_Line]:
    lines: list[_Line] = []
    stack: list[tuple[int, str]] = []  # (indent, name) of the lines above, by depth
    for r in range(frame.first_data_row, len(grid.rows)):
        raw = grid.cell(r, frame.name_column)
        name = normal_name(raw)
        if not name:
            continue
        if name.startswith("注"):
            break
        indent = len(raw) - len(raw.lstrip(_INDENT))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        lines.append(
            _Line(r, name, stack[-1][1] if stack else None, squeeze(grid.cell(r, frame.unit_column)))
        )
        stack.append((indent, name))
    if not lines:
        raise refuse(grid, "the table has a header but no lines", "table_has_rows")
    return lines


def _series_line(grid: Grid, frame: Frame, lines: list[_Line], series: Series) -> _Line:
    parent = series.parents[frame.title.kind]
    found = [line for line in lines if line.name == series.line and line.parent == parent]
    where = f"under {parent}" if parent else "at the top level"
    if not found:
        raise refuse(
            grid, f"no {series.line} line {where} (series {series.series_id})", "series_line_present"
        )
    if len(found) > 1:
        rows = ", ".join(str(line.row + 1) for line in found)
        raise refuse(grid, f"{series.line} {where} appears on rows {rows}", "series_line_present")
    line = found[0]
    if line.unit != series.unit_zh:
        if _NUMBER.fullmatch(line.unit.replace(" ", "")):
            raise refuse(
                grid,
                f"a number ({line.unit}) in the 计量单位 column: the columns are shifted",
                "columns_aligned",
                line.row,
                frame.unit_column,
            )
        raise refuse(
            grid,
            f"{series.line} is counted in {line.unit or 'no unit'}, not {series.unit_zh}",
            "series_unit_matches",
            line.row,
            frame.unit_column,
        )
    return line


def _figures(grid: Grid, frame: Frame, line: _Line, series: Series) -> list[Figure]:
    title, r = frame.title, line.row
    cells = {meaning: (_number(grid, r, c), _number(grid, r, c + 1)) for meaning, c in frame.pairs}
    last = frame.pairs[-1][1] + 1
    extra = [c for c in range(last + 1, len(grid.rows[r])) if squeeze(grid.cell(r, c))]
    if extra:
        raise refuse(
            grid,
            "a value beyond the header's last column: the columns are shifted",
            "columns_aligned",
            r,
            extra[0],
        )
    end = Month(title.year, title.month)
    ytd_kind = "jan_feb" if title.month == 2 else "ytd"
    periods = {
        MONTH: ("current", "month", end, end, YOY_MONTH),
        YTD: ("current", ytd_kind, Month(title.year, 1), end, YOY_YTD),
        PRIOR_YTD: (
            "prior_year",
            ytd_kind,
            Month(title.year - 1, 1),
            Month(title.year - 1, title.month),
            None,
        ),
    }
    figures = []
    for meaning, column in frame.pairs:
        if meaning not in periods:
            continue
        printed_as, kind, start, stop, yoy = periods[meaning]
        (quantity, decimals), (value, value_decimals) = cells[meaning]
        if quantity is None and value is not None:
            raise refuse(
                grid,
                f"a value but no quantity for {series.line}, counted in {series.unit_zh}: "
                "the columns are shifted?",
                "columns_aligned",
                r,
                column,
            )
        if quantity is None:
            continue
        none = ((None, None), (None, None))
        (yoy_quantity, _), (yoy_value, _) = cells.get(yoy, none) if yoy else none
        figures.append(
            Figure(
                series_id=series.series_id,
                row=r + 1,
                printed_as=printed_as,
                period_kind=kind,
                period_start=start,
                period_end=stop,
                quantity=quantity,
                quantity_decimals=decimals,
                value_printed=value,
                value=None if value is None else value * frame.scale,
                value_step=None if value is None else frame.scale / Decimal(10) ** (value_decimals or 0),
                yoy_quantity_pct=yoy_quantity,
                yoy_value_pct=yoy_value,
            )
        )
    return figures


def read_table(path: Path, month: Month, catalogue: list[Series]) -> CommodityTable:
    """Read and check a table landed under release ``month``: its frame, and every catalogued
    line of its flow. Raises ``InputError`` naming the row, the column and the rule."""
    grid = read_grid(path)
    title = find_title(grid)
    check_period(grid, title, month)
    frame = find_frame(grid, title)
    lines = _lines(grid, frame)
    figures: list[Figure] = []
    wanted = [
        series for series in catalogue if series.flow == title.flow and title.kind in series.table_kinds
    ]
    if not wanted:
        raise refuse(grid, f"the catalogue ({CATALOGUE}) names no {title.flow} series", "series_line_present")
    for series in wanted:
        figures.extend(_figures(grid, frame, _series_line(grid, frame, lines, series), series))
    return CommodityTable(path, grid.file_type, frame, tuple(figures))
