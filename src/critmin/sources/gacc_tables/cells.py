"""A table file as a grid of cells: what GACC publishes as an Excel 97 workbook (.xls, or an .xlsx
re-save) or as an HTML table (a saved page, or the table alone).

Workbooks are read with python-calamine (a maintained reader of .xls and .xlsx; xlrd reads .xls
only and openpyxl .xlsx only). The first sheet is the table. HTML is read with the standard
library's parser; ``rowspan``/``colspan`` are spread as a workbook's merged cells are: the text in
the top-left cell, blanks elsewhere. In HTML, spaces, tabs and line breaks around a cell's text mean
nothing (a browser drops them); indentation is written with non-breaking or ideographic spaces.

Every cell is text: numbers from a workbook are written back in their shortest exact decimal form
(``4784.826``), so a workbook and an HTML copy of the same table give the same grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from html.parser import HTMLParser
from typing import TYPE_CHECKING

from critmin.errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

#: What each file type starts with: OLE2 (Excel 97 .xls), zip (.xlsx).
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
WORKBOOK_SUFFIXES = (".xls", ".xlsx")
HTML_SUFFIXES = (".html", ".htm")
SUFFIXES = WORKBOOK_SUFFIXES + HTML_SUFFIXES


@dataclass(frozen=True)
class Grid:
    """The table's cells, row by row (1-based rows and columns in messages, as a spreadsheet)."""

    path: Path
    file_type: str  # "xls", "xlsx" or "html"
    rows: tuple[tuple[str, ...], ...]

    def cell(self, row: int, column: int) -> str:
        cells = self.rows[row]
        return cells[column] if column < len(cells) else ""


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, int):
        return str(value)
    return str(value)


def _refuse(path: Path, problem: str, rule: str = "file_is_a_commodity_table") -> InputError:
    return InputError(
        path,
        problem,
        hint="download the table again from GACC: the .xls attachment, or the page's table saved as HTML",
        rule=rule,
    )


def read_grid(path: Path) -> Grid:
    """The grid of a table file; ``InputError`` for what is neither a workbook nor an HTML table."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise _refuse(
            path, f"a {suffix or 'file without extension'} is not a GACC table (.xls, .xlsx, .html)"
        )
    with path.open("rb") as handle:
        head = handle.read(8)
    if not head:
        raise _refuse(path, "the file is empty (0 bytes)", rule="file_not_empty")
    if suffix in WORKBOOK_SUFFIXES:
        expected = _OLE2 if suffix == ".xls" else _ZIP
        if not head.startswith(expected):
            raise _refuse(path, f"the file is not an Excel workbook (it starts {head!r}): a saved web page?")
        return _workbook(path, suffix.lstrip("."))
    return _html(path)


def _workbook(path: Path, file_type: str) -> Grid:
    import python_calamine

    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        rows = sheet.to_python(skip_empty_area=False)
    except Exception as error:  # calamine raises its own types for damaged or protected files
        raise _refuse(path, f"the workbook cannot be read: {str(error).splitlines()[0][:160]}") from None
    return Grid(path, file_type, tuple(tuple(_text(value) for value in row) for row in rows))


class _TableParser(HTMLParser):
    """The first ``<table>``'s rows, spans spread out (nested tables are ignored)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.done = False
        self.rows: list[list[tuple[str, int, int]]] = []
        self.cell: list[str] | None = None
        self.span = (1, 1)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        if tag == "table":
            self.depth += 1
        elif self.depth == 1 and tag == "tr":
            self.rows.append([])
        elif self.depth == 1 and tag in ("td", "th") and self.rows:
            values = dict(attrs)
            self.cell = []
            self.span = (_span(values.get("rowspan")), _span(values.get("colspan")))
        elif self.depth == 1 and tag == "br" and self.cell is not None:
            self.cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.done:
            return
        if tag in ("td", "th") and self.cell is not None and self.depth == 1:
            self.rows[-1].append(("".join(self.cell), *self.span))
            self.cell = None
        elif tag == "table":
            self.depth -= 1
            self.done = self.depth == 0

    def handle_data(self, data: str) -> None:
        if self.cell is not None and self.depth == 1:
            self.cell.append(data)


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 100))
    except ValueError:
        return 1


def _html(path: Path) -> Grid:
    raw = path.read_bytes()
    for encoding in ("utf-8", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes every byte sequence
        raise _refuse(path, "the page is neither UTF-8 nor GB18030")
    parser = _TableParser()
    parser.feed(text)
    if not parser.rows or not any(parser.rows):
        raise _refuse(path, "the page holds no table (or an empty one)", rule="table_has_rows")
    grid: dict[tuple[int, int], str] = {}
    for r, cells in enumerate(parser.rows):
        c = 0
        for text_, rowspan, colspan in cells:
            while (r, c) in grid:
                c += 1
            for dr in range(rowspan):
                for dc in range(colspan):
                    grid[(r + dr, c + dc)] = text_.strip(" \t\r\n") if dr == dc == 0 else ""
            c += colspan
    height = 1 + max(r for r, _ in grid)
    width = 1 + max(c for _, c in grid)
    rows = tuple(tuple(grid.get((r, c), "") for c in range(width)) for r in range(height))
    return Grid(path, "html", rows)
