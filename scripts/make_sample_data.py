"""Write the demo's GACC downloads from published figures, and cite each one.

For every month in ``data/reference/published_magnet_exports.csv`` (press reports of China customs
data, copied from the team's reference folder with their sources) this writes, in the real download
format of the GACC query platform (GB18030, every field quoted, trailing comma, ``?`` for missing):

- ``85051110_world.csv``: a commodity-only download, whose single row is the total over all partners;
- ``85051110_by_partner.csv``: a by-partner download with the partners that have a published figure
  (only for months that have one).

Quantities are kilograms, as the platform gives them (published tonnes x 1000, exact). Values are
``?``: no monthly value was published, and nothing is estimated. Months without a published figure
get no file. Header language alternates by month (English, Chinese) and the by-partner files of every
third month carry the ``Date of data`` column, so the demo exercises the reader's variants.

Each month's folder also gets ``release_dates.csv`` (``critmin.sources.releases``): the platform
gives no release day, so each file is dated by a stated rule and marked ``supplied``: the 20th of
the next month, around when GACC publishes a month's breakdown by partner (the press stories of
the June and July 2025 figures are dated 20 July and 20 August 2025).

Also writes ``data/sample/SOURCES.md``'s magnet part, which cites every figure (the commodity
tables' part is ``scripts/make_sample_tables.py``'s). Run from the repository root:
``python scripts/make_sample_data.py``. The output is deterministic.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = ROOT / "data" / "reference" / "published_magnet_exports.csv"
SAMPLE = ROOT / "data" / "sample"
LANDING = SAMPLE / "landing" / "gacc" / "export"

HS8 = "85051110"
#: Where the commodity tables' part of SOURCES.md starts (written by make_sample_tables.py).
TABLES_MARKER = "## GACC commodity tables"
# GACC partner code and names for each destination in the published table (GACC code list).
PARTNERS = {
    "US": ("502", "United States", "美国"),
    "DE": ("304", "Germany", "德国"),
    "KR": ("133", "Republic of Korea", "韩国"),
    "VN": ("141", "Viet Nam", "越南"),
    "JP": ("116", "Japan", "日本"),
}
COMMODITY = {
    "en": "Permanent magnets/articles going to be prmnnt magnets, of rare-earth metals",
    "zh": "稀土的永磁铁及磁化后准备制永磁铁的物品",
}
UNIT = {"en": "Kilogram", "zh": "千克"}
HEADERS = {
    "en": {
        "month": "Date of data",
        "hs8": "Commodity code",
        "commodity": "Commodity",
        "partner_code": "Trading partner code",
        "partner": "Trading partner",
        "quantity": "Quantity",
        "unit": "Unit",
        "supp_quantity": "Supplementary Quantity",
        "supp_unit": "Supplementary Unit",
        "value": "US dollar",
    },
    "zh": {
        "month": "数据年月",
        "hs8": "商品编码",
        "commodity": "商品名称",
        "partner_code": "贸易伙伴编码",
        "partner": "贸易伙伴名称",
        "quantity": "第一数量",
        "unit": "第一计量单位",
        "supp_quantity": "第二数量",
        "supp_unit": "第二计量单位",
        "value": "美元",
    },
}


def write_gacc_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """Write bytes as the platform does: GB18030, all fields quoted, a trailing comma, LF."""
    lines = []
    for row in [header, *rows]:
        lines.append(",".join(f'"{cell}"' for cell in row) + ",\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes("".join(lines).encode("gb18030"))


def kilograms(tonnes: str) -> str:
    kg = Decimal(tonnes) * 1000
    if kg != kg.to_integral_value():
        raise ValueError(f"{tonnes} t is not a whole number of kilograms")
    return str(int(kg))


def release_day(month: str) -> str:
    """The day a month's download is dated by: the 20th of the next month (supplied)."""
    year, m = int(month[:4]), int(month[5:])
    year, m = (year + 1, 1) if m == 12 else (year, m + 1)
    return f"{year:04d}-{m:02d}-20"


def write_release_dates(folder: Path, month: str, files: list[str]) -> None:
    note = (
        "the platform gives no day: the 20th of the next month, around when GACC publishes a month by partner"
    )
    with (folder / "release_dates.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["file", "released_on", "basis", "note"])
        for name in sorted(files):
            writer.writerow([name, release_day(month), "supplied", note])


def main() -> None:
    with PUBLISHED.open(encoding="utf-8", newline="") as handle:
        published = [row for row in csv.DictReader(handle) if row["hs8_code"] == HS8]
    by_month: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in published:
        by_month[row["month"]].append(row)

    citations = []
    for index, month in enumerate(sorted(by_month)):
        folder_files: list[str] = []
        language = "en" if index % 2 == 0 else "zh"
        with_month = index % 3 == 0
        h = HEADERS[language]
        folder = LANDING / month
        month_cell = month.replace("-", "")
        world = [r for r in by_month[month] if r["destination"] == "WORLD"]
        partners = [r for r in by_month[month] if r["destination"] != "WORLD"]

        for row in world:
            header = [h["hs8"], h["commodity"], h["quantity"], h["unit"], h["supp_quantity"]]
            header += [h["supp_unit"], h["value"]]
            cells = [HS8, COMMODITY[language], kilograms(row["quantity_t"]), UNIT[language]]
            cells += ["0", "?", "?"]
            path = folder / f"{HS8}_world.csv"
            write_gacc_csv(path, header, [cells])
            folder_files.append(path.name)
            citations.append((month, row, path))

        if partners:
            header = [h["hs8"], h["commodity"], h["partner_code"], h["partner"], h["quantity"]]
            header += [h["unit"], h["supp_quantity"], h["supp_unit"], h["value"]]
            if with_month:
                header.insert(0, h["month"])
            rows = []
            path = folder / f"{HS8}_by_partner.csv"
            for row in sorted(partners, key=lambda r: PARTNERS[r["destination"]][0]):
                code, name_en, name_zh = PARTNERS[row["destination"]]
                name = name_en if language == "en" else name_zh
                cells = [HS8, COMMODITY[language], code, name, kilograms(row["quantity_t"])]
                cells += [UNIT[language], "0", "?", "?"]
                if with_month:
                    cells.insert(0, month_cell)
                rows.append(cells)
                citations.append((month, row, path))
            write_gacc_csv(path, header, rows)
            folder_files.append(path.name)
        write_release_dates(folder, month, folder_files)

    lines = [
        "# Sources of the sample data",
        "",
        "Every quantity in `landing/` is a figure published in the press from China customs (GACC)",
        "data, for China tariff code 85051110 (permanent magnets of rare-earth metals), exports.",
        "The files are written by `scripts/make_sample_data.py` from",
        "`data/reference/published_magnet_exports.csv`; do not edit them by hand.",
        "Quantities are kilograms (published tonnes x 1000); values are `?` (not published).",
        "Months and destinations with no published figure have no row and no file: they stay missing.",
        "Each month's `release_dates.csv` dates its files by a stated rule, marked `supplied` (the",
        "platform gives no day): the 20th of the next month, around when GACC publishes a month by partner.",
        "",
        "| month | destination | tonnes | file | source | note |",
        "|---|---|---|---|---|---|",
    ]
    for month, row, path in citations:
        relative = path.relative_to(SAMPLE).as_posix()
        source = row["source_url"]
        if source.startswith("http"):
            source = f"<{source}>"
        lines.append(
            f"| {month} | {row['destination']} | {row['quantity_t']} | `{relative}` | {source} "
            f"| {row['source_note']} |"
        )
    # The commodity tables' section is scripts/make_sample_tables.py's: kept as it is.
    sources = SAMPLE / "SOURCES.md"
    old = sources.read_text(encoding="utf-8") if sources.exists() else ""
    tables = old[old.index(TABLES_MARKER) :] if TABLES_MARKER in old else ""
    sources.write_text("\n".join(lines) + "\n" + ("\n" + tables if tables else ""), encoding="utf-8")
    print(f"wrote {len({p for _, _, p in citations})} files for {len(by_month)} months")


if __name__ == "__main__":
    main()
