"""The commodity tables' reader: GACC's flash tables and tables 13/14, as .xls and as HTML, found
by what they say, and every malformed variant refused by rule, with its row and column."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import REPO
from table_fixtures import COMBINED_LABELS, flash, monthly_table, write

from critmin.errors import InputError
from critmin.months import Month
from critmin.sources.gacc_tables.read import load_catalogue, read_table

CATALOGUE = load_catalogue(REPO / "dbt_project" / "seeds" / "reference")
SUFFIXES = [".xls", ".html"]


def read(tmp_path, table, suffix, month="2025-04"):
    return read_table(write(table, tmp_path / f"table{suffix}"), Month.parse(month), CATALOGUE)


def figures(table):
    return {(f.printed_as, f.period_kind, str(f.period_start), str(f.period_end)): f for f in table.figures}


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_flash_table_gives_the_month_the_year_to_date_and_last_years_restated(tmp_path, suffix):
    table = read(tmp_path, flash(), suffix)
    assert (table.kind, table.flow, table.file_type) == ("flash", "export", suffix.lstrip("."))
    assert table.frame.unit_label == "亿元人民币" and table.frame.currency == "CNY"
    found = figures(table)
    month = found[("current", "month", "2025-04", "2025-04")]
    assert month.quantity == Decimal("4784.771") and month.quantity_decimals == 3
    assert month.value == Decimal("3.1") * 100_000_000
    ytd = found[("current", "ytd", "2025-01", "2025-04")]
    assert (ytd.yoy_quantity_pct, ytd.yoy_value_pct) == (Decimal("5.0"), Decimal("-14.3"))
    assert found[("prior_year", "ytd", "2024-01", "2024-04")].quantity == Decimal("18051.123")
    assert {f.row for f in table.figures} == {6}, "the rare-earth line, not the line above it"


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_january_and_february_printed_as_one_period_are_never_split(tmp_path, suffix):
    combined = flash(
        month=2,
        title="（6）2025年1至2月全国进口重点商品量值表",  # no currency suffix: the unit row decides
        labels=list(COMBINED_LABELS),
        lines=[["稀土", "吨", 16922.198, 12.15898671, 21000.5, 15.0, "11.7", "131.9"]],
    )
    table = read(tmp_path, combined, suffix, "2025-02")
    assert set(figures(table)) == {
        ("current", "jan_feb", "2025-01", "2025-02"),
        ("prior_year", "jan_feb", "2024-01", "2024-02"),
    }, "no month is made of a combined period"


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_table_13_takes_the_child_line_and_table_14_the_top_one(tmp_path, suffix):
    exports = read(tmp_path, monthly_table(), suffix)
    assert exports.frame.unit_label == "万元人民币"
    month = figures(exports)[("current", "month", "2025-04", "2025-04")]
    assert (month.quantity, month.row, month.value) == (Decimal(4785), 6, Decimal(31000) * 10_000)
    assert month.yoy_quantity_pct == Decimal("4.8"), "the single-month y/y of a monthly table"
    imports = read(tmp_path, monthly_table("import"), suffix)
    assert figures(imports)[("current", "ytd", "2025-01", "2025-04")].quantity == Decimal(18962)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_january_and_february_tables_print_each_month_alone(tmp_path, suffix):
    january = read(tmp_path, monthly_table(month=1), suffix, "2025-01")
    assert set(figures(january)) == {("current", "month", "2025-01", "2025-01")}
    february = read(tmp_path, monthly_table(month=2), suffix, "2025-02")
    assert set(figures(february)) == {
        ("current", "month", "2025-02", "2025-02"),
        ("current", "jan_feb", "2025-01", "2025-02"),
    }


@pytest.mark.parametrize(
    ("builder", "unit", "title_currency", "currency", "scale"),
    [
        (flash, "单位∶亿元人民币", "人民币值", "CNY", 100_000_000),  # the flash's ratio colon U+2236
        (flash, "单位:百万美元", "美元值", "USD", 1_000_000),  # an ASCII colon
        (monthly_table, "金额单位：万元人民币", "人民币值", "CNY", 10_000),  # a full-width colon
        (monthly_table, "单位：千美元", "美元值", "USD", 1_000),
    ],
)
def test_every_unit_scale_and_colon(tmp_path, builder, unit, title_currency, currency, scale):
    base = builder()
    table = read(tmp_path, base.but(unit=unit, title=base.title.replace("人民币值", title_currency)), ".xls")
    assert (table.frame.currency, table.frame.scale) == (currency, scale)
    month = figures(table)[("current", "month", "2025-04", "2025-04")]
    assert month.value == month.value_printed * scale


def test_the_unit_row_may_sit_in_any_column_and_names_may_be_indented_with_wide_spaces(tmp_path):
    table = monthly_table(unit_column=1)
    table.lines[1][0] = "\u3000稀土"  # an ideographic space
    assert figures(read(tmp_path, table, ".html"))[("current", "month", "2025-04", "2025-04")].row == 6


def _rows(table, index, cells):
    lines = [list(line) for line in table.lines]
    lines[index] = cells
    return table.but(lines=lines)


EXPORT_LINE = ["稀土", "吨", 4784.771, 3.1, 18962.457, 10.7, 18051.123, 12.5, "5.0", "-14.3"]
MALFORMED = {
    # what is wrong: (the table, the folder's month, the rule, the row and column named, or None)
    "line in another unit": (_rows(flash(), 1, ["稀土", "万吨", *EXPORT_LINE[2:]]), "2025-04",
                             "series_unit_matches", "row 6, column B"),
    "line missing": (flash(lines=[["成品油", "万吨", 1, 1, 1, 1, 1, 1, "-", "-"]]), "2025-04",
                     "series_line_present", None),
    "line doubled": (flash(lines=[EXPORT_LINE, EXPORT_LINE]), "2025-04", "series_line_present", None),
    "line at the wrong level": (monthly_table(lines=[["稀土", "吨", "4,785", "31,000", "18,962", "107,267",
                                                      "4.8", "-20.1", "5.0", "-14.3"]]), "2025-04",
                                "series_line_present", None),
    "columns shifted left": (_rows(flash(), 1, ["稀土", *EXPORT_LINE[2:]]), "2025-04", "columns_aligned",
                             "row 6, column B"),
    "a cell past the header": (_rows(flash(), 1, [*EXPORT_LINE, "7.7"]), "2025-04", "columns_aligned",
                               "row 6, column K"),
    "a value without a quantity": (_rows(flash(), 1, ["稀土", "吨", "-", 3.1, *EXPORT_LINE[4:]]), "2025-04",
                                   "columns_aligned", "row 6, column C"),
    "a number that is not one": (_rows(flash(), 1, ["稀土", "吨", "4,78x", *EXPORT_LINE[3:]]), "2025-04",
                                 "numbers_readable", "row 6, column C"),
    "cumulative before month": (flash(labels=["1至4月", "4月", "去年1至4月", "累计比去年同期±%"]), "2025-04",
                                "header_layout_known", "row 3"),
    "a month y/y in a flash": (flash(labels=["4月", "1至4月", "去年1至4月", "4月比去年同期±%"]), "2025-04",
                               "header_layout_known", "row 3"),
    "header not split in 数量 and 金额": (flash(second_header=["", "", "数量", "金额", "数量", "金额", "金额",
                                                              "数量", "数量", "金额"]), "2025-04",
                                        "header_layout_known", "row 4"),
    "a period label over one column": (flash(header=["商品名称", "计量单位", "4月", "1至4月", "去年1至4月",
                                                     "累计比去年同期±%", "", "", "", ""]), "2025-04",
                                       "header_layout_known", "row 3"),
    "title month is not the folder's": (flash(), "2025-05", "table_period_matches_folder", "row 1"),
    "a January flash": (flash(month=1), "2025-01", "table_period_matches_folder", "row 1"),
    "a cumulative table's title": (flash(title="（5）2025年1至4月全国出口重点商品量值表"), "2025-04",
                                   "table_title_known", "row 1"),
    "no title": (flash(title="全国海关统计"), "2025-04", "table_title_known", None),
    "currency of title and unit differ": (flash(unit="单位∶百万美元"), "2025-04", "currency_consistent",
                                          "row 2"),
    "an unknown unit": (flash(unit="单位∶千元人民币"), "2025-04", "unit_known", "row 2"),
    "a monthly table's unit in a flash": (flash(unit="单位：万元人民币"), "2025-04", "unit_known", "row 2"),
    "no unit row": (flash(unit=""), "2025-04", "unit_known", None),
    "a 1至2月 title over month columns": (flash(month=2, title="（5）2025年1至2月全国出口重点商品量值表"),
                                         "2025-02", "header_layout_known", "row 3"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(MALFORMED))
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_malformed_table_is_refused_by_rule_naming_where(tmp_path, case, suffix):
    table, month, rule, where = MALFORMED[case]
    with pytest.raises(InputError) as refused:
        read(tmp_path, table, suffix, month)
    assert refused.value.rule == rule, str(refused.value)
    assert f"table{suffix}" in str(refused.value)
    if where:
        assert where in str(refused.value), str(refused.value)


def test_an_empty_html_table_and_a_web_page_saved_as_xls_are_refused(tmp_path):
    empty = tmp_path / "flash.html"
    empty.write_text("<html><body><table></table></body></html>", encoding="utf-8")
    with pytest.raises(InputError, match="table_has_rows"):
        read_table(empty, Month.parse("2025-04"), CATALOGUE)
    challenge = tmp_path / "flash.xls"
    challenge.write_text("<html><body>Please enable JavaScript</body></html>", encoding="utf-8")
    with pytest.raises(InputError, match=r"not an Excel workbook.*file_is_a_commodity_table"):
        read_table(challenge, Month.parse("2025-04"), CATALOGUE)


def test_every_sample_table_reads(tmp_path):
    """The demo's 115 tables, both file types, every layout GACC printed."""
    folders = sorted((REPO / "data" / "sample" / "landing" / "gacc" / "tables").iterdir())
    read_ = [
        read_table(path, Month.parse(folder.name), CATALOGUE)
        for folder in folders
        for path in folder.iterdir()
        if path.name != "release_dates.csv"
    ]
    assert len(read_) >= 100 and {t.file_type for t in read_} == {"xls", "html"}
    assert {t.frame.layout for t in read_} >= {
        ("month", "ytd", "prior_ytd", "yoy_ytd"),
        ("ytd", "prior_ytd", "yoy_ytd"),
        ("month", "yoy_month"),
        ("month", "ytd", "yoy_month", "yoy_ytd"),
    }


def test_every_figure_of_the_sample_tables_is_a_published_one():
    """The sample tables hold GACC's printed figures (or, for 2024's export flashes, the press's),
    each in the reference files with its source: nothing estimated."""
    import csv

    reference = REPO / "data" / "reference" / "rare_earth"
    with (reference / "gacc_table_rare_earth.csv").open(encoding="utf-8", newline="") as handle:
        printed = {
            (r["flow"], r["release_kind"], r["release_month"], r["printed_as"], r["period_kind"],
             r["period_start"], r["period_end"], Decimal(r["quantity_t"]))
            for r in csv.DictReader(handle)
        }  # fmt: skip
    with (reference / "published_rare_earth_trade.csv").open(encoding="utf-8", newline="") as handle:
        press = {
            (r["flow"], r["period_kind"], r["period_start"], r["period_end"], Decimal(r["quantity_t"]))
            for r in csv.DictReader(handle)
            if r["quantity_t"] and not r["note"].startswith("conflict:")
        }
    root = REPO / "data" / "sample" / "landing" / "gacc" / "tables"
    unknown = []
    tables = sorted(path for path in root.rglob("*.*") if path.name != "release_dates.csv")
    for path in tables:
        table = read_table(path, Month.parse(path.parent.name), CATALOGUE)
        for f in table.figures:
            period = (f.period_kind, str(f.period_start), str(f.period_end))
            key = (table.flow, table.kind, path.parent.name, f.printed_as, *period, f.quantity)
            if key not in printed and (table.flow, *period, f.quantity) not in press:
                unknown.append((path.name, key))
    assert not unknown, unknown[:5]
    sources = (REPO / "data" / "sample" / "SOURCES.md").read_text(encoding="utf-8")
    assert all(f"{path.parent.name}/{path.name}" in sources for path in tables), "each file cited"
