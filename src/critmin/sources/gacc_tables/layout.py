"""The frame of a commodity table: its title, its unit row and its two header rows, found by what
they say, never by position (rows and columns drift between releases).

- **Title**: ``（5）2025年4月全国出口重点商品量值表（人民币值）``. 重点商品 = the flash (preliminary, the
  7th-14th of the next month), 主要商品 = table (13)/(14) (later in the month); 出口/进口 = the flow;
  ``YYYY年M月`` or ``YYYY年1至2月``; ``（人民币值）``/``（美元值）`` the currency, when printed. The
  printed number ``（5）`` drifts between years and is ignored.
- **Unit row**: ``单位∶亿元人民币`` (any of the colons ``∶ : ：``, ``单位`` or ``金额单位``): the scale of
  every value column. Flash tables print 亿元 or 百万美元, tables (13)/(14) 万元 or 千美元.
- **Header**: the row holding ``商品名称`` and ``计量单位``, then one merged label per column pair
  (``4月``, ``1至4月``, ``去年1至4月``, ``累计比去年同期±%``...), then ``数量``/``金额`` under each. Which
  labels, in which order, is the table's layout (``LAYOUTS``); anything else is refused.

Every refusal names the file, the row and column (as a spreadsheet names them: row 6, column C)
and the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from critmin.errors import InputError

if TYPE_CHECKING:
    from critmin.months import Month
    from critmin.sources.gacc_tables.cells import Grid

FLASH, MONTHLY_TABLE = "flash", "monthly_table"
#: A column pair's meaning: the month, the year to date, the prior year's same period (as printed
#: in this release), or a y/y % of the year to date or of the month.
MONTH, YTD, PRIOR_YTD, YOY_YTD, YOY_MONTH = "month", "ytd", "prior_ytd", "yoy_ytd", "yoy_month"
#: The layouts each table kind may have, by its column pairs, and when.
LAYOUTS = {
    FLASH: {
        (MONTH, YTD, PRIOR_YTD, YOY_YTD): "every month but January (February alone, since 2026)",
        (YTD, PRIOR_YTD, YOY_YTD): "January and February as one period (until 2025)",
    },
    MONTHLY_TABLE: {
        (MONTH, YOY_MONTH): "January",
        (MONTH, YTD, YOY_MONTH, YOY_YTD): "February onward",
    },
}
#: Value units by table kind: (currency, how many currency units one printed unit is).
UNITS = {
    FLASH: {"亿元人民币": ("CNY", Decimal(100_000_000)), "百万美元": ("USD", Decimal(1_000_000))},
    MONTHLY_TABLE: {
        "万元人民币": ("CNY", Decimal(10_000)),
        "千美元": ("USD", Decimal(1_000)),
        "百万美元": ("USD", Decimal(1_000_000)),
    },
}
_TITLE = re.compile(
    r"(?P<year>\d{4})\s*年\s*(?:(?P<jan>1)\s*[至\-－~]\s*)?(?P<month>\d{1,2})\s*月\s*"
    r"(?:全国)?(?P<flow>出口|进口)(?P<kind>重点|主要)商品量值表\s*(?:[（(](?P<currency>人民币值|美元值)[）)])?"
)
_UNIT = re.compile(r"(?:金额)?单位\s*[∶:：]\s*(?P<unit>\S+)")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Title:
    kind: str  # FLASH or MONTHLY_TABLE
    flow: str  # "export" or "import"
    year: int
    month: int  # the latest month the table covers
    jan_feb: bool  # the title names January to February
    currency: str | None  # from the title's suffix, when printed
    row: int

    @property
    def label(self) -> str:
        period = f"{self.year}-01..{self.month:02d}" if self.jan_feb else f"{self.year}-{self.month:02d}"
        return f"{self.kind} {self.flow} {period}"


@dataclass(frozen=True)
class Frame:
    """Where the table's parts are and what they say."""

    title: Title
    currency: str
    unit_label: str
    scale: Decimal
    name_column: int
    unit_column: int
    pairs: tuple[tuple[str, int], ...]  # (meaning, first column of the pair: quantity, then value)
    first_data_row: int

    @property
    def layout(self) -> tuple[str, ...]:
        return tuple(meaning for meaning, _ in self.pairs)


def refuse(
    grid: Grid, problem: str, rule: str, row: int | None = None, column: int | None = None
) -> InputError:
    where = f"row {row + 1}" if row is not None else None
    if column is not None:
        where = f"{where}, column {column_name(column)}" if where else f"column {column_name(column)}"
    return InputError(
        grid.path,
        f"{where}: {problem}" if where else problem,
        hint="download the table again from GACC: the .xls attachment, or the page's table saved as HTML",
        rule=rule,
    )


def column_name(column: int) -> str:
    """A 0-based column as a spreadsheet names it: 0 -> A, 9 -> J, 26 -> AA."""
    name = ""
    column += 1
    while column:
        column, rest = divmod(column - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


def squeeze(text: str) -> str:
    """A cell's words with every run of whitespace (line breaks, non-breaking and ideographic
    spaces) made one space, and the ends trimmed."""
    return _SPACES.sub(" ", text).strip()


def find_title(grid: Grid) -> Title:
    for r, row in enumerate(grid.rows[:20]):
        for cell in row:
            found = _TITLE.search(squeeze(cell).replace(" ", ""))
            if found:
                currency = {"人民币值": "CNY", "美元值": "USD"}.get(found["currency"] or "")
                month = int(found["month"])
                jan_feb = bool(found["jan"])
                if jan_feb and month != 2:
                    raise refuse(
                        grid,
                        f"the title covers 1 to {month}: a cumulative table, not a monthly one",
                        "table_title_known",
                        r,
                    )
                return Title(
                    kind=FLASH if found["kind"] == "重点" else MONTHLY_TABLE,
                    flow="export" if found["flow"] == "出口" else "import",
                    year=int(found["year"]),
                    month=month,
                    jan_feb=jan_feb,
                    currency=currency,
                    row=r,
                )
    raise refuse(
        grid,
        "no title names a commodity table: 'YYYY年M月全国出口/进口重点商品量值表' (flash) or "
        "'YYYY年M月出口/进口主要商品量值表' (tables 13 and 14) in the first rows",
        "table_title_known",
    )


def check_period(grid: Grid, title: Title, month: Month) -> None:
    """The title's period is the release month the table was landed under."""
    if (title.year, title.month) != (month.year, month.month):
        raise refuse(
            grid,
            f"the title is for {title.year}-{title.month:02d}, but the table was landed under {month}: "
            f"put it in the folder of its month (landing/gacc/tables/{title.year}-{title.month:02d}/)",
            "table_period_matches_folder",
            title.row,
        )
    if title.kind == FLASH and title.month == 1:
        raise refuse(
            grid,
            "a flash table for January alone: GACC publishes none (January comes with February)",
            "table_period_matches_folder",
            title.row,
        )


def _find_unit(grid: Grid, title: Title, header_row: int) -> tuple[str, str, Decimal]:
    for r in range(title.row, header_row):
        for c, cell in enumerate(grid.rows[r]):
            found = _UNIT.search(squeeze(cell).replace(" ", ""))
            if not found:
                continue
            label = found["unit"]
            known = UNITS[title.kind]
            if label not in known:
                allowed = ", ".join(known)
                raise refuse(
                    grid,
                    f"unit {label!r} is not one of a {title.kind} table's ({allowed})",
                    "unit_known",
                    r,
                    c,
                )
            currency, scale = known[label]
            if title.currency and title.currency != currency:
                raise refuse(
                    grid,
                    f"the title says {title.currency} values but the unit row says {label}",
                    "currency_consistent",
                    r,
                    c,
                )
            return label, currency, scale
    raise refuse(grid, "no unit row ('单位：...') between the title and the header", "unit_known", title.row)


def _pair_meaning(label: str, title: Title) -> str | None:
    text = label.replace(" ", "")
    m = title.month
    if "比去年同期" in text:
        if title.kind == FLASH:  # a flash prints the year to date's y/y only (also over Jan-Feb)
            return YOY_MONTH if re.match(rf"(当月|{m}月)比", text) else YOY_YTD
        return YOY_YTD if "累计" in text else YOY_MONTH
    if text.startswith("去年"):
        return PRIOR_YTD if re.fullmatch(rf"去年(1[至\-]{m}月|同期)(累计)?", text) else None
    if re.fullmatch(rf"(1[至\-]{m}月|{m}月)?累计", text) or re.fullmatch(rf"1[至\-]{m}月", text):
        return YTD if (m > 1 or "累计" in text) else None
    if re.fullmatch(rf"(当月|{m}月)", text):
        return MONTH
    return None


def find_frame(grid: Grid, title: Title) -> Frame:
    """The unit row, the header and the layout, checked against the title."""
    header = next(
        (
            (r, c)
            for r in range(title.row + 1, min(len(grid.rows), title.row + 12))
            for c, cell in enumerate(grid.rows[r])
            if squeeze(cell).replace(" ", "") == "商品名称"
        ),
        None,
    )
    if header is None:
        raise refuse(grid, "no header row with '商品名称' below the title", "header_layout_known")
    r, name_column = header
    if r + 1 >= len(grid.rows):
        raise refuse(grid, "the header has no second row (数量/金额)", "header_layout_known", r)
    unit_label, currency, scale = _find_unit(grid, title, r)
    row = grid.rows[r]
    unit_column = name_column + 1
    if squeeze(grid.cell(r, unit_column)).replace(" ", "") != "计量单位":
        raise refuse(grid, "'计量单位' does not follow '商品名称'", "header_layout_known", r, unit_column)
    pairs: list[tuple[str, int]] = []
    c = unit_column + 1
    while c < len(row):
        label = squeeze(row[c])
        if not label:
            if any(squeeze(cell) for cell in row[c:]):
                raise refuse(grid, "a header label is missing", "header_layout_known", r, c)
            break
        meaning = _pair_meaning(label, title)
        if meaning is None:
            raise refuse(
                grid, f"header {label!r} is not a period this table prints", "header_layout_known", r, c
            )
        if (squeeze(grid.cell(r + 1, c)), squeeze(grid.cell(r + 1, c + 1))) != ("数量", "金额"):
            raise refuse(
                grid, f"under {label!r} the header does not read 数量, 金额", "header_layout_known", r + 1, c
            )
        if squeeze(grid.cell(r, c + 1)):
            raise refuse(grid, f"{label!r} does not span two columns", "header_layout_known", r, c + 1)
        pairs.append((meaning, c))
        c += 2
    layout = tuple(meaning for meaning, _ in pairs)
    allowed = LAYOUTS[title.kind]
    if layout not in allowed:
        raise refuse(
            grid,
            f"the columns {', '.join(layout) or 'none'} are not a {title.kind} table's "
            f"layout ({'; '.join(' | '.join(k) for k in allowed)})",
            "header_layout_known",
            r,
        )
    combined = layout == (YTD, PRIOR_YTD, YOY_YTD)
    if title.jan_feb != combined and (title.jan_feb or combined and title.month != 2):
        raise refuse(
            grid, "the title's period and the columns disagree on January-February", "header_layout_known", r
        )
    if title.kind == MONTHLY_TABLE and (title.month == 1) != (layout == (MONTH, YOY_MONTH)):
        raise refuse(
            grid,
            "January's table prints the month alone, every later month the year to date too",
            "header_layout_known",
            r,
        )
    return Frame(title, currency, unit_label, scale, name_column, unit_column, tuple(pairs), r + 2)
