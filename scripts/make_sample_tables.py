"""Write the demo's GACC commodity tables from published figures, and cite each one.

Each release of ``data/reference/rare_earth/gacc_table_rare_earth.csv`` (GACC's flash tables and
tables (13)/(14), one row per printed figure, with the public parse each came from) becomes one
file in ``data/sample/landing/gacc/tables/<release month>/``, in the layout GACC prints
(``FORMAT-major-commodities.md``): the title, the unit row, the two header rows, the rare-earth
line (稀土; in table 13 under its parent 稀土及其制品, whose cells are ``-``) and the footnote. Every
cell GACC printed that the reference does not hold is ``-``: nothing is estimated.

GACC's export flashes of 2024 are not in that file; the press published their figures
(``published_rare_earth_trade.csv``, Reuters and others). For each such release a flash file holds
the most precise press figure of the month and of the year to date, with the year-to-date y/y %
where the press printed it, each citing its press row. Press rows whose note starts ``conflict:``
are never used.

Each release month's folder also gets ``release_dates.csv``: the day each table was released,
as critmin records it (``critmin.sources.releases``). A flash's date is GACC's where the reference
gives it (``publisher``). Where it does not, a day is supplied by a stated rule and marked
``supplied``: a flash GACC released together with the other flow's flash of the month takes that
flash's day (for Jan-Feb 2024, the import flash's day in its public parse's file name); the
Jan-Feb 2025 export flash takes the day in its own public parse's file name; the
import flash of December 2023, with no partner, the 14th of the next month (the latest day
GACC's flashes came out); tables 13/14, whose day GACC never gives, the 18th of the next month (the
one dated example, the May 2026 bulletin of 18 June 2026; not confirmed).

Workbooks (.xls, Excel 97) are written with xlwt, a test and sample tool only (the pipeline reads
them with python-calamine); the December 2025 export flash, which GACC published as a web page
only, is an HTML table. Also writes the commodity tables' part of ``data/sample/SOURCES.md``.
Run from the repository root: ``python scripts/make_sample_tables.py``. The output is deterministic.
"""

from __future__ import annotations

import csv
import html
import shutil
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "data" / "reference" / "rare_earth"
TABLE_FIGURES = REFERENCE / "gacc_table_rare_earth.csv"
PRESS = REFERENCE / "published_rare_earth_trade.csv"
LANDING = ROOT / "data" / "sample" / "landing" / "gacc" / "tables"
SOURCES = ROOT / "data" / "sample" / "SOURCES.md"
MARKER = "## GACC commodity tables"
#: Release days documented outside the reference table (FORMAT-major-commodities.md, "Release
#: timing": the public parse's file names), with what they rest on.
DOCUMENTED_DAYS = {
    ("export", "flash", "2024-02"): (
        "2024-03-07",
        "supplied",
        "no day given: the day of the Jan-Feb 2024 import flash, which GACC releases with it (public parse's "
        "file name 2024-03-07_2024年1至2月全国进口…, FORMAT-major-commodities.md)",
    ),
    ("export", "flash", "2025-02"): (
        "2025-03-07",
        "publisher",
        "GACC's day, from the public parse's file name 2025-03-07_2025年1至2月全国出口… "
        "(FORMAT-major-commodities.md)",
    ),
}
#: Releases GACC published as a web page only.
HTML_RELEASES = {("export", "flash", "2025-12")}
FOOTNOTE = "注：1. 带*号的商品含其下列出的商品。2. 商品范围以海关统计重点商品目录为准。"
MONTH, YTD, PRIOR, YOY_YTD, YOY_MONTH = "month", "ytd", "prior_ytd", "yoy_ytd", "yoy_month"


@dataclass
class Figure:
    quantity: str | None = None
    value: str | None = None
    yoy_quantity: str | None = None
    yoy_value: str | None = None
    source: str = ""


@dataclass
class Release:
    flow: str
    kind: str  # "flash" or "monthly_table"
    month: str  # YYYY-MM, the latest month the table covers
    figures: dict[str, Figure] = field(default_factory=dict)  # by column pair
    combined: bool = False  # January-February as one period, no month column
    from_press: bool = False

    @property
    def year(self) -> int:
        return int(self.month[:4])

    @property
    def m(self) -> int:
        return int(self.month[5:])

    @property
    def file_name(self) -> str:
        table = "flash" if self.kind == "flash" else ("table13" if self.flow == "export" else "table14")
        suffix = "html" if (self.flow, self.kind, self.month) in HTML_RELEASES else "xls"
        return f"{table}_{self.flow}_cny.{suffix}"


def _releases_from_tables() -> dict[tuple[str, str, str], Release]:
    releases: dict[tuple[str, str, str], Release] = {}
    with TABLE_FIGURES.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            key = (row["flow"], row["release_kind"], row["release_month"])
            release = releases.setdefault(key, Release(*key))
            figure = Figure(
                row["quantity_t"] or None,
                row["value"] or None,
                row["yoy_quantity_pct"] or None,
                row["yoy_value_pct"] or None,
                row["source_url"],
            )
            if row["printed_as"] == "prior_year":
                release.figures[PRIOR] = figure
            elif row["period_kind"] == "month":
                release.figures[MONTH] = figure
            else:
                release.figures[YTD] = figure
            if "January-February (same as the cumulative)" in row["note"]:
                release.combined = True
    for release in releases.values():  # a Jan-Feb flash without a February column prints them as one
        if release.kind == "flash" and release.m == 2 and MONTH not in release.figures:
            release.combined = True
    return releases


def _precision(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def _press_flashes(existing: set[tuple[str, str, str]]) -> dict[tuple[str, str, str], Release]:
    """Export flashes of 2024 (and Jan-Feb 2025) the table file lacks, from the press: for each
    period the most precise figure printed, and the year-to-date y/y % printed beside one."""
    best: dict[tuple[str, str, str], dict[str, str]] = {}
    yoy: dict[tuple[str, str, str], dict[str, str]] = {}
    with PRESS.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            unused = row["flow"] != "export" or row["note"].startswith("conflict:")
            if unused or row["period_end"] >= "2025-03":
                continue
            period = (row["period_kind"], row["period_start"], row["period_end"])
            if row["quantity_t"]:
                held = best.get(period)
                if held is None or _precision(row["quantity_t"]) > _precision(held["quantity_t"]):
                    best[period] = row
            if row["pct_yoy"] and row["period_kind"] != "month" and period not in yoy:
                yoy[period] = row
    releases: dict[tuple[str, str, str], Release] = {}
    for (kind, start, end), row in sorted(best.items()):
        key = ("export", "flash", end)
        if key in existing or (kind == "month" and end.endswith("-01")):
            continue
        release = releases.setdefault(key, Release(*key, from_press=True))
        if kind == "month":
            release.figures[MONTH] = Figure(row["quantity_t"], source=row["source_url"])
        else:
            pct = yoy.get((kind, start, end))
            release.figures[YTD] = Figure(
                row["quantity_t"],
                yoy_quantity=pct["pct_yoy"] if pct else None,
                source=row["source_url"] + (f" (y/y: {pct['source_url']})" if pct and pct is not row else ""),
            )
    for release in releases.values():
        release.combined = release.m == 2 and MONTH not in release.figures
    return releases


# --- the table's cells ----------------------------------------------------------------------------


def _title(release: Release) -> str:
    period = f"{release.year}年{release.m}月"
    if release.combined and release.year < 2026:  # 2026 printed February alone in its title
        period = f"{release.year}年1至2月"
    if release.kind == "flash":
        number, words = ("（5）", "全国出口重点") if release.flow == "export" else ("（6）", "全国进口重点")
    else:
        number, words = ("（13）", "出口主要") if release.flow == "export" else ("（14）", "进口主要")
    return f"{number}{period}{words}商品量值表（人民币值）"


def _unit(release: Release) -> str:
    if release.kind == "flash":
        return "单位∶亿元人民币"
    return "金额单位：万元人民币" if release.month == "2024-01" else "单位：万元人民币"


def _pairs(release: Release) -> list[tuple[str, str]]:
    m = release.m
    if release.kind == "flash":
        if release.combined:
            return [(YTD, "1至2月"), (PRIOR, "去年1至2月"), (YOY_YTD, "累计比去年同期±%")]
        return [
            (MONTH, f"{m}月"),
            (YTD, f"1至{m}月"),
            (PRIOR, f"去年1至{m}月"),
            (YOY_YTD, "累计比去年同期±%"),
        ]
    if m == 1:
        return [(MONTH, "1月"), (YOY_MONTH, "比去年同期±%")]
    return [
        (MONTH, f"{m}月"),
        (YTD, f"1至{m}月累计"),
        (YOY_MONTH, f"{m}月比去年同期±%"),
        (YOY_YTD, "累计比去年同期±%"),
    ]


def _number(text: str | None, grouped: bool) -> str | float:
    """A quantity or value as the table prints it: flash workbooks hold numbers, tables (13)/(14)
    comma-grouped text (``'6,070,062'``); ``-`` where nothing is published."""
    if text is None:
        return "-"
    if not grouped:
        return float(Decimal(text))
    integer, _, fraction = text.partition(".")
    sign = "-" if integer.startswith("-") else ""
    digits = f"{int(integer.lstrip('-')):,}"
    return f"{sign}{digits}.{fraction}" if fraction else f"{sign}{digits}"


def _line_cells(release: Release) -> list[str | float]:
    grouped = release.kind == "monthly_table" or (release.flow, release.kind, release.month) in HTML_RELEASES
    cells: list[str | float] = []
    for meaning, _ in _pairs(release):
        if meaning in (YOY_YTD, YOY_MONTH):
            source = release.figures.get(YTD if meaning == YOY_YTD else MONTH, Figure())
            if release.combined and meaning == YOY_YTD:
                source = release.figures.get(YTD, Figure())
            cells += [source.yoy_quantity or "-", source.yoy_value or "-"]
        else:
            figure = release.figures.get(meaning, Figure())
            cells += [_number(figure.quantity, grouped), _number(figure.value, grouped)]
    return cells


def _grid(release: Release) -> list[list[str | float]]:
    """Rows of cells; merged ranges are written by the writers from the layout."""
    pairs = _pairs(release)
    width = 2 + 2 * len(pairs)
    rows: list[list[str | float]] = [[_title(release)] + [""] * (width - 1)]
    rows.append([""] * (width - 1) + [_unit(release)])
    rows.append(["商品名称", "计量单位"] + [cell for _, label in pairs for cell in (label, "")])
    rows.append(["", ""] + ["数量", "金额"] * len(pairs))
    if release.kind == "monthly_table" and release.flow == "export":
        rows.append(["稀土及其制品", "吨"] + ["-"] * (width - 2))
        rows.append(["  稀土", "吨", *_line_cells(release)])
    else:
        rows.append(["稀土", "吨", *_line_cells(release)])
    rows.append([FOOTNOTE] + [""] * (width - 1))
    return rows


def _write_xls(release: Release, path: Path) -> None:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("M113RMB" if release.kind == "monthly_table" else "RMB")
    rows = _grid(release)
    width = len(rows[0])
    sheet.write_merge(0, 0, 0, width - 1, rows[0][0])
    sheet.write(1, width - 1, rows[1][-1])
    sheet.write_merge(2, 3, 0, 0, "商品名称")
    sheet.write_merge(2, 3, 1, 1, "计量单位")
    for index in range(2, width, 2):
        sheet.write_merge(2, 2, index, index + 1, rows[2][index])
        sheet.write(3, index, "数量")
        sheet.write(3, index + 1, "金额")
    for r in range(4, len(rows) - 1):
        for c, cell in enumerate(rows[r]):
            sheet.write(r, c, cell)
    sheet.write_merge(len(rows) - 1, len(rows) - 1, 0, width - 1, FOOTNOTE)
    book.save(str(path))


def _write_html(release: Release, path: Path) -> None:
    rows = _grid(release)
    width = len(rows[0])

    def cell(text: object, extra: str = "") -> str:
        value = html.escape(str(text)).replace("  ", "&nbsp;&nbsp;")
        return f"<td{extra}>{value}</td>"

    lines = [
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">',
        "<title>海关统计</title></head><body>",
        f"<p>{html.escape(rows[0][0])}</p>",  # the page's heading
        "<table>",
        f"<tr>{cell(rows[0][0], f' colspan={width}')}</tr>",
        f"<tr>{cell(rows[1][-1], f' colspan={width} align=right')}</tr>",
        "<tr>" + cell("商品名称", " rowspan=2") + cell("计量单位", " rowspan=2")
        + "".join(cell(rows[2][i], " colspan=2") for i in range(2, width, 2)) + "</tr>",
        "<tr>" + "".join(cell(text) for text in rows[3][2:]) + "</tr>",
    ]  # fmt: skip
    for row in rows[4:-1]:
        lines.append("<tr>" + "".join(cell(text) for text in row) + "</tr>")
    lines += [f"<tr>{cell(FOOTNOTE, f' colspan={width}')}</tr>", "</table>", "</body></html>"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --- sources --------------------------------------------------------------------------------------


def _next_month(month: str, day: int) -> str:
    year, m = int(month[:4]), int(month[5:])
    year, m = (year + 1, 1) if m == 12 else (year, m + 1)
    return f"{year:04d}-{m:02d}-{day:02d}"


def _release_dates(releases: list[Release]) -> dict[tuple[str, str, str], tuple[str, str, str]]:
    """(flow, kind, month) -> (released_on, basis, note), by the rules of the module's docstring."""
    given: dict[tuple[str, str], str] = {}
    with TABLE_FIGURES.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["release_kind"] == "flash" and row["release_date"]:
                given[(row["flow"], row["release_month"])] = row["release_date"]
    dates = {}
    for r in releases:
        key = (r.flow, r.kind, r.month)
        other = given.get(("import" if r.flow == "export" else "export", r.month))
        if r.kind == "monthly_table":
            dates[key] = (
                _next_month(r.month, 18),
                "supplied",
                "GACC gives no day for tables 13/14: the 18th of the next month, as the one dated example "
                "(the May 2026 bulletin, 18 June 2026); not confirmed",
            )
        elif (r.flow, r.month) in given:
            dates[key] = (
                given[(r.flow, r.month)],
                "publisher",
                "GACC's day, as the reference table gives it",
            )
        elif key in DOCUMENTED_DAYS:
            dates[key] = DOCUMENTED_DAYS[key]
        elif other:
            flow = "import" if r.flow == "export" else "export"
            dates[key] = (
                other,
                "supplied",
                f"no day given: the day of the {flow} flash of the month, which GACC releases with it",
            )
        else:
            dates[key] = (
                _next_month(r.month, 14),
                "supplied",
                "no day given: the 14th of the next month, the latest day GACC's flashes came out",
            )
    return dates


def _write_release_dates(folder: Path, lines: list[tuple[str, str, str, str]]) -> None:
    with (folder / "release_dates.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["file", "released_on", "basis", "note"])
        writer.writerows(sorted(lines))


def _sources(releases: list[Release]) -> str:
    lines = [
        MARKER,
        "",
        "Every figure in `landing/gacc/tables/` is one GACC printed in its commodity tables, for the",
        "rare-earth line (稀土, tonnes; values in 亿元 in the flash tables, 万元 in tables 13 and 14,",
        "RMB). The files are written by `scripts/make_sample_tables.py` from",
        "`data/reference/rare_earth/gacc_table_rare_earth.csv` (each figure with the public parse of the",
        "GACC file it came from) and, for the export flashes of 2024 that file lacks, from",
        "`data/reference/rare_earth/published_rare_earth_trade.csv` (press reports of those flashes).",
        "Every other cell is `-`: not published here, never estimated. Do not edit the files by hand.",
        "",
        "Each release month's `release_dates.csv` gives the day each table was released: GACC's",
        "(`publisher`) where the reference has it, otherwise a day supplied by the stated rule in its",
        "note (`supplied`: never shown as GACC's). GACC gives no day for tables 13/14.",
        "",
        "| release | released | file | figures | source |",
        "|---|---|---|---|---|",
    ]
    dates = _release_dates(releases)
    for release in releases:
        table = "table 13" if release.flow == "export" else "table 14"
        kind = "flash" if release.kind == "flash" else table
        printed = []
        for meaning, label in _pairs(release):
            figure = release.figures.get(meaning)
            if figure is not None and figure.quantity is not None and meaning not in (YOY_YTD, YOY_MONTH):
                printed.append(f"{label} {figure.quantity} t")
        sources = sorted({f.source for f in release.figures.values() if f.source})
        cited = "; ".join(f"<{s}>" if s.startswith("http") and " " not in s else s for s in sources)
        press = " (press)" if release.from_press else ""
        path = f"`landing/gacc/tables/{release.month}/{release.file_name}`"
        name = f"{release.flow} {kind} {release.month}{press}"
        day, basis, _ = dates[(release.flow, release.kind, release.month)]
        released = day if basis == "publisher" else f"{day} (supplied)"
        lines.append(f"| {name} | {released} | {path} | {', '.join(printed)} | {cited} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    releases = _releases_from_tables()
    releases.update(_press_flashes(set(releases)))
    if LANDING.exists():
        shutil.rmtree(LANDING)
    ordered = sorted(releases.values(), key=lambda r: (r.month, r.flow, r.kind))
    dates = _release_dates(ordered)
    by_folder: dict[Path, list[tuple[str, str, str, str]]] = {}
    for release in ordered:
        folder = LANDING / release.month
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / release.file_name
        (_write_html if path.suffix == ".html" else _write_xls)(release, path)
        by_folder.setdefault(folder, []).append(
            (release.file_name, *dates[(release.flow, release.kind, release.month)])
        )
    for folder, lines in by_folder.items():
        _write_release_dates(folder, lines)
    text = SOURCES.read_text(encoding="utf-8") if SOURCES.exists() else ""
    kept = text.split(MARKER)[0].rstrip("\n")
    SOURCES.write_text((kept + "\n\n" if kept else "") + _sources(ordered), encoding="utf-8")
    print(f"wrote {len(ordered)} tables in {LANDING}")


if __name__ == "__main__":
    main()
