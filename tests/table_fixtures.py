"""GACC commodity tables for the reader's tests, in both file types (.xls and HTML).

``Table`` is a frame as GACC prints it (title, unit row, the two header rows, lines, footnote)
that a test changes to make one malformed variant at a time; ``write`` saves it as an Excel 97
workbook (xlwt, a test tool) or an HTML table, with the header merged as GACC merges it. Numbers
here are test numbers (the sample files and their sources are data/sample's).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace
from pathlib import Path

FLASH_LABELS = ["{m}月", "1至{m}月", "去年1至{m}月", "累计比去年同期±%"]
COMBINED_LABELS = ["1至2月", "去年1至2月", "累计比去年同期±%"]
TABLE_LABELS = ["{m}月", "1至{m}月累计", "{m}月比去年同期±%", "累计比去年同期±%"]
JANUARY_LABELS = ["1月", "比去年同期±%"]


@dataclass
class Table:
    title: str
    unit: str
    labels: list[str]
    lines: list[list[object]]  # name, unit, then two cells per label
    footnote: str = "注：1. 带*号的商品含其下列出的商品。"
    unit_column: int | None = None  # where the unit row's text sits (default: the last column)
    header: list[str] | None = None  # the first header row, when not the labels each over two columns
    second_header: list[str] | None = None
    extra_rows: list[list[object]] = field(default_factory=list)

    @property
    def width(self) -> int:
        return 2 + 2 * len(self.labels)

    def but(self, **changes) -> Table:
        return replace(self, **changes)

    def grid(self) -> list[list[object]]:
        width = self.width
        unit_row = [""] * width
        unit_row[width - 1 if self.unit_column is None else self.unit_column] = self.unit
        header = self.header or ["商品名称", "计量单位"] + [
            cell for label in self.labels for cell in (label, "")
        ]
        second = self.second_header or ["", ""] + ["数量", "金额"] * len(self.labels)
        return [
            [self.title] + [""] * (width - 1),
            unit_row,
            header,
            second,
            *[list(line) + [""] * (width - len(line)) for line in self.lines],
            *self.extra_rows,
            [self.footnote] + [""] * (width - 1),
        ]


def flash(flow: str = "export", year: int = 2025, month: int = 4, **options) -> Table:
    number, words = ("（5）", "全国出口重点") if flow == "export" else ("（6）", "全国进口重点")
    labels = [label.format(m=month) for label in FLASH_LABELS]
    line = ["稀土", "吨", 4784.771, 3.1, 18962.457, 10.7, 18051.123, 12.5, "5.0", "-14.3"]
    defaults = {
        "title": f"{number}{year}年{month}月{words}商品量值表（人民币值）",
        "unit": "单位∶亿元人民币",
        "labels": labels,
        "lines": [["成品油", "万吨", 500.1, 200.2, "-", "-", "-", "-", "-", "-"], line],
    }
    return Table(**{**defaults, **options})


def monthly_table(flow: str = "export", year: int = 2025, month: int = 4, **options) -> Table:
    number, words = ("（13）", "出口主要") if flow == "export" else ("（14）", "进口主要")
    if month == 1:
        labels = list(JANUARY_LABELS)
        numbers = ["5,294", "31,000", "-9.6", "-20.1"]
    else:
        labels = [label.format(m=month) for label in TABLE_LABELS]
        numbers = ["4,785", "31,000", "18,962", "107,267", "4.8", "-20.1", "5.0", "-14.3"]
    lines: list[list[object]] = []
    if flow == "export":
        lines.append(["稀土及其制品", "吨"] + ["-"] * len(numbers))
        lines.append(["  稀土", "吨", *numbers])
    else:
        lines.append(["稀土", "吨", *numbers])
    defaults = {
        "title": f"{number}{year}年{month}月{words}商品量值表（人民币值）",
        "unit": "单位：万元人民币",
        "labels": labels,
        "lines": lines,
    }
    return Table(**{**defaults, **options})


def write(table: Table, path: Path) -> Path:
    """Save as .xls (Excel 97) or .html, by ``path``'s suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = table.grid()
    if path.suffix == ".html":
        _html(table, rows, path)
    else:
        _xls(table, rows, path)
    return path


def _xls(table: Table, rows: list[list[object]], path: Path) -> None:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Sheet1")
    width = table.width
    sheet.write_merge(0, 0, 0, width - 1, rows[0][0])
    for c, cell in enumerate(rows[1]):
        if cell != "":
            sheet.write(1, c, cell)
    sheet.write_merge(2, 3, 0, 0, rows[2][0])
    sheet.write_merge(2, 3, 1, 1, rows[2][1])
    for c in range(2, width, 2):
        if table.header:  # as given, unmerged
            sheet.write(2, c, rows[2][c])
            sheet.write(2, c + 1, rows[2][c + 1])
        elif rows[2][c] != "":
            sheet.write_merge(2, 2, c, c + 1, rows[2][c])
        sheet.write(3, c, rows[3][c])
        sheet.write(3, c + 1, rows[3][c + 1])
    for r in range(4, len(rows) - 1):
        for c, cell in enumerate(rows[r]):
            if cell != "":
                sheet.write(r, c, cell)
    sheet.write_merge(len(rows) - 1, len(rows) - 1, 0, width - 1, rows[-1][0])
    book.save(str(path))


def _html(table: Table, rows: list[list[object]], path: Path) -> None:
    def td(text: object, extra: str = "") -> str:
        return f"<td{extra}>{html.escape(str(text)).replace('  ', '&nbsp;&nbsp;')}</td>"

    width = table.width
    out = ['<html><head><meta charset="utf-8"></head><body><table>']
    out.append(f"<tr>{td(rows[0][0], f' colspan={width}')}</tr>")
    out.append("<tr>" + "".join(td(cell) for cell in rows[1]) + "</tr>")
    header = td(rows[2][0], " rowspan=2") + td(rows[2][1], " rowspan=2")
    if table.header:  # as given, unmerged
        header += "".join(td(cell) for cell in rows[2][2:])
    else:
        header += "".join(td(rows[2][c], " colspan=2") for c in range(2, width, 2))
    out.append(f"<tr>{header}</tr>")
    out.append("<tr>" + "".join(td(cell) for cell in rows[3][2:]) + "</tr>")
    for row in rows[4:-1]:
        out.append("<tr>" + "".join(td(cell) for cell in row) + "</tr>")
    out.append(f"<tr>{td(rows[-1][0], f' colspan={width}')}</tr>")
    out.append("</table></body></html>")
    path.write_text("\n".join(out), encoding="utf-8")
