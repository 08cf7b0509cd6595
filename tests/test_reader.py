"""The GACC reader on every variant of the platform's format, and on what it must refuse."""

from __future__ import annotations

import codecs
import random
from decimal import Decimal

import pytest
from conftest import FORMAT_SAMPLES, SAMPLE_LANDING, published_figures

from critmin.errors import InputError
from critmin.sources.gacc.read import (
    FIELDS,
    NUMERIC_FIELDS,
    GaccRecord,
    iter_records,
    parse_number,
    read_layout,
)
from critmin.sources.gacc.scan import TABLE as SCAN_TABLE
from critmin.sources.gacc.scan import scan

FULL_DIMENSIONS = {
    "month",
    "hs8_code",
    "commodity_name",
    "partner_code",
    "partner_name",
    "regime_code",
    "regime_name",
    "province_code",
    "province_name",
    "quantity",
    "unit",
    "supplementary_quantity",
    "supplementary_unit",
}

#: The sample downloads (each month's release_dates.csv says when they were released).
SAMPLE_DOWNLOADS = sorted(
    p for p in (SAMPLE_LANDING / "gacc" / "export").rglob("*.csv") if p.name != "release_dates.csv"
)


def test_chinese_full_download_with_yuan_values():
    path = FORMAT_SAMPLES / "chinese-full.csv"
    layout = read_layout(path)
    assert (layout.encoding, layout.language, layout.value_currency) == ("gb18030", "zh", "CNY")
    assert not layout.has_month
    records = list(iter_records(path))
    assert len(records) == 5
    first = records[0]
    assert first.hs8_code == "29012920"
    assert (first.partner_code, first.partner_name) == ("110", "中国香港")
    assert (first.regime_name, first.province_name) == ("一般贸易", "广东省")
    assert first.quantity == Decimal(214847)
    assert first.unit == "千克"
    assert first.value_cny == Decimal(5848714)  # "5,848,714"
    assert first.value_usd is None
    assert first.supplementary_unit is None  # "?"
    assert first.month is None


@pytest.mark.parametrize("name", ["english-full.csv", "english-full-permutated.csv"])
def test_english_full_download_in_any_column_order(name):
    path = FORMAT_SAMPLES / name
    layout = read_layout(path)
    assert layout.language == "en"
    assert layout.encoding == "gb18030"  # full-width comma in "Hong Kong，China"
    assert set(layout.fields) == FULL_DIMENSIONS | {"value_usd"}
    records = list(iter_records(path))
    assert [r.partner_code for r in records] == ["110", "121", "133", "143", "412"]
    assert records[0].partner_name == "Hong Kong，China"
    assert records[0].month == "2026-01"
    assert records[0].value_usd == Decimal(315286)
    assert records[3].regime_name == "Processing with Imported Materials"


def test_permuted_columns_give_the_same_records():
    plain = [r._replace(line_number=0) for r in iter_records(FORMAT_SAMPLES / "english-full.csv")]
    permuted = FORMAT_SAMPLES / "english-full-permutated.csv"
    assert [r._replace(line_number=0) for r in iter_records(permuted)] == plain


def test_commodity_only_download_has_no_dimensions():
    path = FORMAT_SAMPLES / "english-degenerate.csv"
    layout = read_layout(path)
    assert not layout.has_partner and not layout.has_month
    records = list(iter_records(path))
    assert [r.hs8_code for r in records] == ["29012920", "29012990", "29021100"]
    assert records[1].quantity == Decimal(14198093)
    assert records[1].commodity_name == "Unsaturated acyclic hydrocarbons, nes"
    assert all(r.partner_code is None for r in records)


@pytest.mark.parametrize(
    "path",
    SAMPLE_DOWNLOADS,
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_every_sample_file_reads_and_holds_the_published_figures(path):
    month = path.parent.name
    figures = published_figures()
    records = list(iter_records(path))
    assert records, "a sample file without rows"
    for record in records:
        assert record.hs8_code == "85051110"
        assert record.month in (None, month)
        assert record.unit in ("Kilogram", "千克")
        assert record.value_usd is None  # no monthly value was published
        partner = record.partner_code or "000"
        assert record.quantity == figures[(month, partner)] * 1000


def test_sample_files_use_both_header_languages():
    languages = {read_layout(path).language for path in SAMPLE_DOWNLOADS}
    assert languages == {"en", "zh"}


def _write(tmp_path, text: str, encoding: str = "gb18030", name: str = "download.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_utf8_file_with_bom_and_chinese_headers(tmp_path):
    text = (
        '"商品编码","贸易伙伴编码","贸易伙伴名称","第一数量","美元",\n"85051110","502","美国","1,000","?",\n'
    )
    path = tmp_path / "utf8.csv"
    path.write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
    layout = read_layout(path)
    assert (layout.encoding, layout.language) == ("utf-8-sig", "zh")
    (record,) = iter_records(path)
    assert (record.partner_name, record.quantity, record.value_usd) == ("美国", Decimal(1000), None)


def test_codes_keep_their_leading_zeros(tmp_path):
    path = _write(tmp_path, '"Commodity code","Quantity",\n"01012100","7",\n')
    (record,) = iter_records(path)
    assert record.hs8_code == "01012100"


def test_file_without_trailing_comma_is_read_too(tmp_path):
    path = _write(tmp_path, '"Commodity code","Quantity"\n"85051110","7"\n')
    (record,) = iter_records(path)
    assert record.quantity == Decimal(7)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("315,286", Decimal(315286)), ("?", None), ("", None), (" 12.5 ", Decimal("12.5"))],
)
def test_parse_number(text, expected):
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "406,5",
        "1,2",
        "1,23",
        "1,2345",
        ",123",
        "1.2e5",
        "1_000",
        "١٢٣",
        "１２３",
        "12.",
        ".5",
        "1,234.5.6",
        "inf",
    ],
)
def test_numbers_not_written_as_gacc_writes_them_are_refused(text):
    with pytest.raises(ValueError, match="not a number as GACC writes it"):
        parse_number(text)


@pytest.mark.parametrize(
    ("text", "expected"), [("1,234,567.25", Decimal("1234567.25")), ("0.5", Decimal("0.5"))]
)
def test_grouped_and_decimal_numbers_are_read(text, expected):
    assert parse_number(text) == expected


def test_a_decimal_comma_is_refused_naming_file_line_column_and_value(tmp_path):
    path = _write(tmp_path, '"Commodity code","Quantity",\n"85051110","406,5",\n')
    with pytest.raises(InputError) as error:
        list(iter_records(path))
    message = str(error.value)
    assert error.value.line == 2 and error.value.column == "Quantity" and "'406,5'" in message
    assert str(path) in message and "numbers_are_numeric" in message


def test_unknown_header_names_the_file_and_the_header(tmp_path):
    path = _write(tmp_path, '"Commodity code","Quantity","Mystery",\n"85051110","1","x",\n')
    with pytest.raises(InputError) as error:
        read_layout(path)
    message = str(error.value)
    assert str(path) in message and "'Mystery'" in message and "line 1" in message
    assert "What to do" in message


def test_missing_required_column_is_named(tmp_path):
    path = _write(tmp_path, '"Commodity code","US dollar",\n"85051110","1",\n')
    with pytest.raises(InputError, match="required column 'Quantity"):
        read_layout(path)


def test_non_numeric_quantity_names_line_and_column(tmp_path):
    text = '"Commodity code","Quantity",\n"85051110","1",\n"85051110","lots",\n'
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as error:
        list(iter_records(path))
    assert error.value.line == 3
    assert error.value.column == "Quantity"
    assert "'lots' is not a number" in str(error.value)


def test_truncated_last_line_is_an_error(tmp_path):
    path = _write(tmp_path, '"Commodity code","Quantity","Unit",\n"85051110","1","Kilogram",\n"8505')
    with pytest.raises(InputError) as error:
        list(iter_records(path))
    assert error.value.line == 3


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty"),
        ('"Commodity code","Quantity",\n'.encode("utf-16"), "UTF-16"),
        (bytes(range(256)) * 4, "NUL bytes"),
    ],
    ids=["zero-bytes", "utf-16", "binary"],
)
def test_files_that_cannot_be_downloads_are_refused(tmp_path, content, problem):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=problem):
        read_layout(path)


def test_reader_streams_instead_of_loading_the_file(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w", encoding="gb18030") as handle:
        handle.write('"Commodity code","Trading partner code","Quantity",\n')
        for index in range(200_000):
            handle.write(f'"85051110","{index % 900:03d}","{index}",\n')
    records = iter_records(path)
    first = next(records)
    assert first.quantity == Decimal(0)
    # The generator has read one buffer, not the file: the open handle is near the start.
    frame = records.gi_frame
    assert frame is not None
    handle = frame.f_locals["handle"]
    assert handle.buffer.tell() < path.stat().st_size / 10
    records.close()
    assert handle.closed


# --- the fast path (DuckDB) reads every file exactly as the Python reader, or declines ----------


def _scanned_records(path) -> list[GaccRecord] | None:
    """The rows as the fast path reads them, as GaccRecords; None when it declines the file."""
    try:
        layout = read_layout(path)
    except InputError:
        return None
    with scan(path, layout) as scanned:
        if scanned is None:
            return None
        values = [scanned.value_sql(field, numbers_as="varchar") for field in FIELDS]
        rows = scanned.connection.execute(
            f"select rowid + 1, {', '.join(values)} from {SCAN_TABLE} order by rowid"
        ).fetchall()
    numeric = {FIELDS.index(field) for field in NUMERIC_FIELDS}
    return [
        GaccRecord(
            row[0], *(Decimal(v) if i in numeric and v is not None else v for i, v in enumerate(row[1:]))
        )
        for row in rows
    ]


def _python_records(path) -> list[GaccRecord] | InputError:
    try:
        return list(iter_records(path))
    except InputError as error:
        return error


def _assert_agree(path) -> list[GaccRecord] | None:
    """The fast path either declines or gives exactly the Python reader's records (and never
    accepts a file the Python reader refuses)."""
    expected = _python_records(path)
    fast = _scanned_records(path)
    if fast is not None:
        assert not isinstance(expected, InputError), (
            f"the fast path accepts what the reader refuses: {expected}"
        )
        assert fast == expected
    return fast


GOOD_FILES = [
    *sorted(FORMAT_SAMPLES.glob("*.csv")),
    *SAMPLE_DOWNLOADS,
]


@pytest.mark.parametrize("path", GOOD_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_fast_path_reads_every_sample_as_the_reader_does(path):
    assert _assert_agree(path) is not None, "a plain download must not need the Python reader"


HEADER = (
    '"Date of data","Commodity code","Trading partner code","Trading partner","Quantity","Unit",'
    '"US dollar",\n'
)
ROW = '"202510","85051110","502","United States","656,000","Kilogram","1,234.5",\n'
BAD_OR_UNUSUAL = {
    # name: (text, whether the Python reader accepts it)
    "decimal-comma": (HEADER + ROW.replace("656,000", "656,5"), False),
    "words-for-a-number": (HEADER + ROW.replace("656,000", "656 t"), False),
    "exponent": (HEADER + ROW.replace("656,000", "6.5e5"), False),
    "full-width-digits": (HEADER + ROW.replace("656,000", "６５６"), False),
    "month-13": (HEADER + ROW.replace("202510", "202513"), False),
    "month-short": (HEADER + ROW.replace("202510", "20251"), False),
    "month-full-width-digits": (HEADER + ROW.replace("202510", "２０２５１０"), True),
    "too-few-fields": (HEADER + ROW.replace('"Kilogram",', "").replace(",\n", "\n"), False),
    "too-many-fields": (HEADER + ROW.replace(",\n", ',"x",\n'), False),
    "extra-last-field": (HEADER + ROW.replace(",\n", ',"x"\n'), False),
    "truncated-last-line": (HEADER + ROW + '"202510","850511', False),
    "unclosed-quote": (HEADER + ROW.replace('"502"', '"502'), False),
    "junk-after-quote": (HEADER + ROW.replace('"502"', '"502"x'), False),
    "space-after-quote": (HEADER + ROW.replace('"502",', '"502" ,'), False),
    "space-after-last-quote": (HEADER + ROW.replace(",\n", " \n").replace('1,234.5"', '1,234.5" '), False),
    "space-before-quote": (HEADER + ROW.replace(',"502"', ', "502"'), True),
    "blank-line": (HEADER + "\n" + ROW, True),
    "blank-line-at-end": (HEADER + ROW + "\n", True),
    "quoted-empty-line": (HEADER + '""\n' + ROW, True),
    "line-break-in-a-field": (HEADER + ROW.replace("United States", "United\nStates"), True),
    "lone-carriage-returns": ((HEADER + ROW + ROW).replace("\n", "\r"), True),
    "crlf": ((HEADER + ROW + ROW).replace("\n", "\r\n"), True),
    "no-trailing-commas": ((HEADER + ROW).replace(",\n", "\n"), True),
    "no-final-newline": (HEADER + ROW.rstrip("\n"), True),
    "doubled-quotes-in-a-name": (HEADER + ROW.replace("United States", 'Korea ""South""'), True),
    "full-width-space-around-a-value": (HEADER + ROW.replace('"502"', '"\u3000502 "'), True),
    "tab-around-a-number": (HEADER + ROW.replace('"656,000"', '"\t656,000 "'), True),
    "spaces-around-a-number": (HEADER + ROW.replace('"656,000"', '" 656,000  "'), True),
    "question-marks": (HEADER + ROW.replace('"1,234.5"', '"?"').replace('"502"', '"?"'), True),
    "negative-number": (HEADER + ROW.replace("656,000", "-656,000"), True),
    "unquoted-fields": (
        HEADER + ROW.replace("656,000", "656000").replace("1,234", "1234").replace('"', ""),
        True,
    ),
    "quote-inside-an-unquoted-field": (HEADER + ROW.replace('"502"', '5"02'), True),
}


@pytest.mark.parametrize("name", sorted(BAD_OR_UNUSUAL))
def test_the_fast_path_declines_what_only_the_reader_reads_exactly(tmp_path, name):
    text, accepted = BAD_OR_UNUSUAL[name]
    path = _write(tmp_path, text)
    expected = _python_records(path)
    assert isinstance(expected, list) is accepted, expected
    _assert_agree(path)


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8", "utf-8-sig", "utf-16"])
def test_the_fast_path_agrees_in_every_encoding(tmp_path, encoding):
    text = (
        HEADER
        + ROW.replace("United States", "美国")
        + ROW.replace("502", "110").replace("United States", "Hong Kong，China")
    )
    _assert_agree(_write(tmp_path, text, encoding))


def test_the_fast_path_declines_undecodable_bytes(tmp_path):
    path = tmp_path / "download.csv"
    path.write_bytes((HEADER + ROW).encode("gb18030") + b"\x81\x20" + ROW.encode("gb18030"))
    assert isinstance(_python_records(path), InputError)
    assert _scanned_records(path) is None


def test_the_fast_path_agrees_with_the_reader_on_randomly_damaged_files(tmp_path):
    """Random edits of a valid download, with the characters CSV parsers disagree on: wherever the
    fast path reads a file, it reads it exactly as the reader does."""
    rng = random.Random(20251120)
    base = (
        HEADER
        + ROW
        + ROW.replace("502", "304").replace("United States", "Germany")
        + ROW.replace("502", "133")
    )
    alphabet = ['"', ",", " ", "\n", "\r", "\t", "\u3000", "?", "0", "7", "-", ".", "x", "美"]
    read_fast = 0
    for attempt in range(150):
        text = list(base)
        for _ in range(rng.randint(1, 3)):
            position = rng.randrange(len(HEADER), len(text))
            action = rng.choice(("insert", "replace", "delete"))
            if action == "delete":
                del text[position]
            elif action == "replace":
                text[position] = rng.choice(alphabet)
            else:
                text.insert(position, rng.choice(alphabet))
        path = _write(tmp_path, "".join(text), name=f"damaged-{attempt}.csv")
        read_fast += _assert_agree(path) is not None
    assert read_fast > 10, "the fast path should still read most harmless edits"


#: Real HS8 descriptions with quotes in them: a full export table's English download has them.
QUOTED_NAMES = [
    'New rubber pneumatic tyres with ""herring-bone"", for agricultural/forestry vehicles',
    'Korea ""South""',
    '""quoted at both ends""',
]


@pytest.mark.parametrize("name", QUOTED_NAMES)
def test_the_fast_path_reads_doubled_quotes_in_a_quoted_field(tmp_path, name):
    rows = [ROW.replace("United States", name if i == 1 else "Germany") for i in range(3)]
    path = _write(tmp_path, HEADER + "".join(rows))
    records = _assert_agree(path)
    assert records is not None, "quotes in a name must not send a million rows to the Python reader"
    assert records[1].partner_name == name.replace('""', '"')


def test_quoted_rows_the_fast_path_reads_differently_send_the_file_to_the_reader(tmp_path):
    """Junk after a closing quote on a row that also has a doubled quote: DuckDB and the reader
    must not silently disagree."""
    path = _write(tmp_path, HEADER + ROW.replace('"United States"', '"Korea ""South"""x'))
    assert isinstance(_python_records(path), InputError)
    assert _scanned_records(path) is None


def test_a_scan_removes_the_folders_of_scans_whose_process_is_gone(tmp_path):
    """A step killed mid-read leaves its scratch folder under $CRITMIN_HOME/tmp: the next scan
    removes it, and never the folder of a scan that is still running."""
    import os
    import subprocess
    import sys

    from critmin.sources.gacc.scan import FOLDER_PREFIX, scan

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = tmp_path / "tmp" / f"{FOLDER_PREFIX}{int(gone.stdout)}-abc"
    alive = tmp_path / "tmp" / f"{FOLDER_PREFIX}{os.getppid()}-def"
    for folder in (dead, alive):
        folder.mkdir(parents=True)
        (folder / "download.csv").write_text("x", encoding="utf-8")
    path = _write(tmp_path, HEADER + ROW)
    with scan(path, read_layout(path), tmp_path / "tmp") as scanned:
        assert scanned is not None
        assert not dead.exists() and alive.exists()
    assert [p.name for p in (tmp_path / "tmp").iterdir()] == [alive.name], "its own folder is removed"
