"""Read downloads from the GACC online statistics query platform exactly as the platform writes them.

The format (``shared/reference/gacc/FORMAT.md``): GB18030 (or UTF-8 when re-saved), every field
quoted, a trailing comma on every line, English or Chinese headers in the order and subset the user
picked, numbers with thousands separators, ``?`` for missing, one value column in US dollars *or*
yuan, and a month column only when the query spanned several months.

The reader streams: it holds one line at a time, so memory does not grow with the file. HS and
partner codes stay strings (``01012100`` keeps its leading zero).
"""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from critmin.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Iterator

#: Canonical field name -> the headers the platform writes for it (English, Chinese, variants).
HEADERS: dict[str, tuple[str, ...]] = {
    "month": ("Date of data", "数据年月"),
    "hs8_code": ("Commodity code", "商品编码"),
    "commodity_name": ("Commodity", "商品名称"),
    "partner_code": ("Trading partner code", "贸易伙伴编码"),
    "partner_name": ("Trading partner", "贸易伙伴名称"),
    "regime_code": ("Customs Regime code", "贸易方式编码"),
    "regime_name": ("Customs Regime", "贸易方式名称"),
    "province_code": ("Locations of importers and exporters code", "注册地编码"),
    "province_name": ("Locations of importers and exporters", "注册地名称"),
    "quantity": ("Quantity", "第一数量"),
    "unit": ("Unit", "第一计量单位"),
    "supplementary_quantity": ("Supplementary Quantity", "Supplimentary Quantity", "第二数量"),
    "supplementary_unit": ("Supplementary Unit", "Supplimentary Unit", "第二计量单位"),
    "value_usd": ("US dollar", "美元"),
    "value_cny": ("Renminbi Yuan", "人民币"),
}
_HEADER_TO_FIELD = {header: field for field, headers in HEADERS.items() for header in headers}
_CHINESE_HEADERS = {header for headers in HEADERS.values() for header in headers if not header.isascii()}
NUMERIC_FIELDS = ("quantity", "supplementary_quantity", "value_usd", "value_cny")
REQUIRED_FIELDS = ("hs8_code", "quantity")
MISSING = "?"
#: A number as GACC writes it: ``1234``, ``1,234,567``, ``1,234.5``, ``0.25`` (ASCII digits only).
_GACC_NUMBER = re.compile(r"-?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?", re.ASCII)
_CHUNK = 1 << 16


class GaccRecord(NamedTuple):
    """One data row of a download. Absent columns and ``?`` are ``None``."""

    line_number: int
    month: str | None  # "YYYY-MM"
    hs8_code: str | None
    commodity_name: str | None
    partner_code: str | None
    partner_name: str | None
    regime_code: str | None
    regime_name: str | None
    province_code: str | None
    province_name: str | None
    quantity: Decimal | None
    unit: str | None
    supplementary_quantity: Decimal | None
    supplementary_unit: str | None
    value_usd: Decimal | None
    value_cny: Decimal | None


FIELDS: tuple[str, ...] = GaccRecord._fields[1:]


@dataclass(frozen=True)
class GaccLayout:
    """What the header row says about a download."""

    path: Path
    encoding: str  # "utf-8-sig" or "gb18030"
    language: str  # "en" or "zh"
    fields: tuple[str, ...]  # canonical names, in file order

    @property
    def value_currency(self) -> str | None:
        if "value_usd" in self.fields:
            return "USD"
        if "value_cny" in self.fields:
            return "CNY"
        return None

    @property
    def has_month(self) -> bool:
        return "month" in self.fields

    @property
    def has_partner(self) -> bool:
        return "partner_code" in self.fields

    def header_for(self, field: str) -> str:
        """The header this file uses for a canonical field (English or Chinese)."""
        return HEADERS[field][0 if self.language == "en" else -1]


def detect_encoding(path: Path) -> str:
    """UTF-8 when every byte decodes as UTF-8 (checked chunk by chunk), else GB18030.

    Rejects what cannot be a GACC download: UTF-16/32 (byte-order mark or NUL bytes) and empty files.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    is_utf8 = True
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            if size == 0 and chunk[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
                raise InputError(
                    path,
                    "the file is UTF-16 encoded; GACC downloads are GB18030 or UTF-8",
                    hint="download the file again from the platform, or save it as UTF-8",
                    rule="encoding_is_gb18030_or_utf8",
                )
            if b"\x00" in chunk:
                raise InputError(
                    path,
                    "the file contains NUL bytes: it is binary or UTF-16/32, not a GACC CSV download",
                    hint="download the file again from the platform",
                    rule="encoding_is_gb18030_or_utf8",
                )
            size += len(chunk)
            if is_utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    is_utf8 = False
    if size == 0:
        raise InputError(
            path, "the file is empty (0 bytes)", hint="download the file again", rule="file_not_empty"
        )
    if is_utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            is_utf8 = False
    return "utf-8-sig" if is_utf8 else "gb18030"


def _strip_trailing_empty(row: list[str]) -> list[str]:
    if row and row[-1] == "":
        return row[:-1]
    return row


def _open_text(path: Path, encoding: str):
    # newline="" is what the csv module wants; errors="strict" so a bad byte is an error, not "?".
    return path.open("r", encoding=encoding, errors="strict", newline="")


def read_layout(path: Path | str) -> GaccLayout:
    """Read and check the header row only."""
    path = Path(path)
    encoding = detect_encoding(path)
    try:
        with _open_text(path, encoding) as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError as exc:
        raise InputError(
            path,
            f"the file is neither UTF-8 nor GB18030 ({exc.reason} at byte {exc.start})",
            hint="download the file again from the platform",
            rule="encoding_is_gb18030_or_utf8",
        ) from exc
    if header is None:
        raise InputError(
            path, "the file has no header row", hint="download the file again", rule="file_not_empty"
        )
    return _layout_from_header(path, encoding, header)


def _layout_from_header(path: Path, encoding: str, header: list[str]) -> GaccLayout:
    names = [name.strip().lstrip("\ufeff") for name in _strip_trailing_empty(header)]
    fields: list[str] = []
    for position, name in enumerate(names, start=1):
        field = _HEADER_TO_FIELD.get(name)
        if field is None:
            known = ", ".join(repr(headers[0]) for headers in HEADERS.values())
            raise InputError(
                path,
                f"unknown header {name if len(name) <= 60 else name[:60] + '…'!r} (column {position})",
                line=1,
                hint="this is not a GACC download, or the platform changed its format. Known "
                f"headers are {known} and their Chinese forms (critmin.sources.gacc.read.HEADERS)",
                rule="headers_known",
            )
        if field in fields:
            raise InputError(path, f"header {name!r} appears twice", line=1, rule="headers_known")
        fields.append(field)
    missing = [field for field in REQUIRED_FIELDS if field not in fields]
    if missing:
        wanted = " / ".join(HEADERS[missing[0]][:2])
        raise InputError(
            path,
            f"required column {wanted!r} is missing",
            line=1,
            hint="query the platform again with the commodity code and quantity in the output",
            rule="required_columns_present",
        )
    if "value_usd" in fields and "value_cny" in fields:
        raise InputError(
            path, "the file has both a US dollar and a yuan value column", line=1, rule="headers_known"
        )
    language = "zh" if any(name in _CHINESE_HEADERS for name in names) else "en"
    return GaccLayout(path=path, encoding=encoding, language=language, fields=tuple(fields))


def parse_number(text: str) -> Decimal | None:
    """``"315,286"`` -> ``Decimal(315286)``; ``"?"`` or empty -> ``None``; anything else raises.

    Only the forms GACC writes are numbers: ASCII digits, optionally grouped in threes by commas,
    with an optional decimal point (a minus sign is read, so the raw gate can name a negative
    quantity by its rule). A decimal comma (``406,5``), an exponent, underscores or non-ASCII
    digits are signs of a file re-saved by a spreadsheet in another locale, where a silent factor
    of 10 or 1000 would be the worst kind of error: they are refused.
    """
    text = text.strip()
    if text in ("", MISSING):
        return None
    if not _GACC_NUMBER.fullmatch(text):
        raise ValueError(
            f"{text!r} is not a number as GACC writes it (digits, commas between groups of three, "
            "a decimal point): was the file re-saved by a spreadsheet in another locale?"
        )
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise ValueError(f"{text!r} is not a number") from None


def parse_yyyymm(text: str) -> str | None:
    """The file's month column: ``"202601"`` -> ``"2026-01"``."""
    text = text.strip()
    if text in ("", MISSING):
        return None
    if len(text) != 6 or not text.isdigit() or not 1 <= int(text[4:]) <= 12:
        raise ValueError(f"{text!r} is not a month in the form YYYYMM")
    return f"{text[:4]}-{text[4:]}"


def _text(value: str) -> str | None:
    value = value.strip()
    return None if value in ("", MISSING) else value


def iter_records(path: Path | str, layout: GaccLayout | None = None) -> Iterator[GaccRecord]:
    """Yield the data rows of a download, one at a time, typed and validated."""
    path = Path(path)
    layout = layout or read_layout(path)
    width = len(layout.fields)
    positions = {field: index for index, field in enumerate(layout.fields)}
    handle = _open_text(path, layout.encoding)
    try:
        reader = csv.reader(handle, strict=True)
        next(reader)  # header, already checked
        for row in reader:
            line = reader.line_num
            if not row or row == [""]:
                continue
            if len(row) == width + 1 and row[-1] == "":
                row = row[:-1]
            if len(row) != width:
                raise InputError(
                    path,
                    f"the row has {len(row)} fields but the header has {width}",
                    line=line,
                    hint="the file is truncated or was edited by hand; download it again",
                    rule="rows_well_formed",
                )
            values: dict[str, object] = {}
            for field, index in positions.items():
                cell = row[index]
                try:
                    if field in NUMERIC_FIELDS:
                        values[field] = parse_number(cell)
                    elif field == "month":
                        values[field] = parse_yyyymm(cell)
                    else:
                        values[field] = _text(cell)
                except ValueError as exc:
                    raise InputError(
                        path,
                        str(exc),
                        line=line,
                        column=layout.header_for(field),
                        hint="fix or re-download the file",
                        rule="numbers_are_numeric" if field in NUMERIC_FIELDS else "month_column_valid",
                    ) from None
            yield GaccRecord(line, *(values.get(field) for field in FIELDS))  # type: ignore[arg-type]
    except UnicodeDecodeError as exc:
        raise InputError(
            path,
            f"undecodable bytes ({exc.reason}) in a {layout.encoding} file",
            rule="encoding_is_gb18030_or_utf8",
        ) from exc
    except csv.Error as exc:
        raise InputError(
            path,
            f"malformed CSV: {exc}",
            line=reader.line_num,
            hint="the file is truncated or was edited by hand; download it again",
            rule="rows_well_formed",
        ) from exc
    finally:
        handle.close()
