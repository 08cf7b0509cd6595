"""Read a whole download at once, fast: transcode it to UTF-8, parse it with DuckDB, check it in SQL.

The Python reader (``read.iter_records``) is the definition of what a download means and of every
refusal; it parses about 70,000 rows a second. A month of real exports is a million rows, so the
land, gate and load steps read each file through this module instead, which either reads the file
exactly as ``iter_records`` would (the same rows, lines and values) or says it cannot
(``scan`` yields ``None``). It cannot when the file has anything the fast path does not reproduce
to the letter: a refusal of any kind (bad bytes, a row with the wrong number of fields, a number
or month that is not as GACC writes it), and a few legal but unusual forms (a space between a
quote and a comma, a line break inside a field, a blank line, a lone carriage return). The caller
then reads the file with ``iter_records``, which gives the exact refusal (rule, line, column,
message) or the rows. A quote character inside a field (a real HS8 description reads
``New rubber pneumatic tyres with "herring-bone"``) is common in full export tables, so those rows
alone are parsed again with Python's ``csv`` and must match, rather than sending the whole file to
the reader.

How: Python's own codec transcodes the file in large chunks to a temporary UTF-8 file (GB18030 is
not a DuckDB encoding), checking the text forms DuckDB parses differently from Python's ``csv``;
DuckDB reads that file with every column as text into an in-memory table whose row order is the
file's (so a row's line is its position: the checks make sure one record is one line); one SQL
query checks every row. The temporary files are deleted when the block ends.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from critmin.processes import process_alive
from critmin.sources.gacc.read import _GACC_NUMBER, FIELDS, MISSING, NUMERIC_FIELDS

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    import duckdb

    from critmin.sources.gacc.read import GaccLayout

#: Every character Python's ``str.strip()`` removes (``str.isspace``), which the reader strips.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
#: The table the scan leaves in its connection: ``c1`` .. ``c<width + 1>``, every field as text,
#: one row per data row, in the file's order; a row's ``rowid + 1`` is its line in the file.
TABLE = "gacc_scan"
#: What DuckDB reads as NULL: never a real field (one that is would only send the file to the
#: Python reader), so an empty field is '' and NULL means a row with too few fields.
#: The folder of ``$CRITMIN_HOME`` the steps give ``scan`` for its temporary files.
SCAN_FOLDER = "tmp"
#: DuckDB's memory for reading, parsing and checking one download (it spills to the scan's folder
#: beyond it). Measured on a 1,000,000-row download (make bench): 1GB let the process peak
#: 0.78 GiB above the stack; 256MB, 0.31 GiB, for 1.5 s more at landing and 0.8 s more at the gate.
SCRATCH_MEMORY = "256MB"
_NULL = "\x01critmin-no-field\x01"
_CHUNK = 1 << 22
#: A space between a quote and a comma or a line end: Python's csv refuses ``"a" ,``, DuckDB trims it.
_SPACE_AT_QUOTE = re.compile(r'" +(?:[,\r\n]|\Z)|(?:\A|[,\n]) +"')
_MONTH = "[0-9]{6}"
_OTHER_SPACE = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE if c != " ") + "]"
#: Over a row's fields joined by U+0001 (RE2 syntax): a line break in a field, or
#: whitespace other than spaces at either end of one (Python strips it; the SQL trims spaces).
_UNUSUAL = f"[\\r\\n]|(?:^|\\x01) *{_OTHER_SPACE}|{_OTHER_SPACE} *(?:\\x01|$)"


@dataclass(frozen=True)
class Scan:
    """A download parsed by DuckDB, checked to read exactly as ``iter_records`` reads it."""

    connection: duckdb.DuckDBPyConnection
    layout: GaccLayout
    data_rows: int
    workdir: Path

    def column(self, field: str) -> str:
        """The table column holding a field's raw text."""
        return f"c{self.layout.fields.index(field) + 1}"

    def value_sql(self, field: str, *, numbers_as: str = "double") -> str:
        """SQL for a field's value as ``iter_records`` gives it (NULL where it gives ``None``).

        Text is stripped, ``?`` and empty are NULL, the month is ``YYYY-MM``. Numbers are cast to
        ``numbers_as`` (``double``, or ``varchar`` for the digits without thousands separators).
        """
        if field not in self.layout.fields:
            return f"cast(null as {numbers_as if field in NUMERIC_FIELDS else 'varchar'})"
        text = _text_sql(self.column(field))
        if field in NUMERIC_FIELDS:
            digits = f"replace({text}, ',', '')"
            return digits if numbers_as == "varchar" else f"cast({digits} as {numbers_as})"
        if field == "month":
            return f"(substr({text}, 1, 4) || '-' || substr({text}, 5, 2))"
        return text

    def rows_query(self, renamed: Mapping[str, str]) -> str:
        """SQL for the rows as ``iter_records`` gives them, as text, in the file's order:
        ``source_line`` and every reader field (``renamed`` gives a field another column name),
        numbers without separators, NULL for a field the file does not have."""
        selected = ["rowid + 1 as source_line"] + [
            f'{self.value_sql(field, numbers_as="varchar")} as "{renamed.get(field, field)}"'
            for field in FIELDS
        ]
        return f"select {', '.join(selected)} from {TABLE} order by rowid"


def _text_sql(column: str) -> str:
    # Spaces only: a field with other whitespace at either end never reaches here (``_UNUSUAL``).
    return f"nullif(nullif(trim({column}), ''), '{MISSING}')"  # DuckDB's trim() trims spaces only


#: A scan's temporary folder is ``<FOLDER_PREFIX><pid>-<random>``: the process that owns it.
FOLDER_PREFIX = "gacc-scan-"


def remove_stale_folders(workdir: Path) -> list[Path]:
    """Remove the temporary folders of scans whose process is gone (killed mid-read); returns them."""
    removed = []
    for folder in workdir.glob(f"{FOLDER_PREFIX}*-*"):
        pid = folder.name.removeprefix(FOLDER_PREFIX).split("-", 1)[0]
        if folder.is_dir() and pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@contextmanager
def scan(path: Path, layout: GaccLayout, workdir: Path | None = None) -> Iterator[Scan | None]:
    """Parse ``path`` with DuckDB; yields ``None`` when only ``iter_records`` can read it exactly.

    Temporary files go in a new folder under ``workdir`` (the system's by default), removed after.
    """
    import duckdb

    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        remove_stale_folders(workdir)
    with tempfile.TemporaryDirectory(prefix=f"{FOLDER_PREFIX}{os.getpid()}-", dir=workdir) as tmp:
        folder = Path(tmp)
        utf8 = folder / "download.csv"
        lines = _transcode(path, layout.encoding, utf8)
        if lines is None:
            yield None
            return
        connection = duckdb.connect(
            config={"memory_limit": SCRATCH_MEMORY, "temp_directory": str(folder / "spill")}
        )
        try:
            records = _read(connection, utf8, len(layout.fields))
            if (
                records is None
                or records != lines
                or _problems(connection, layout)
                or _quoted_rows_differ(connection, utf8, len(layout.fields))
            ):
                yield None
                return
            connection.execute(f"delete from {TABLE} where rowid = 0")  # the header, already read
            yield Scan(connection, layout, records - 1, folder)
        finally:
            connection.close()


def _transcode(source: Path, encoding: str, target: Path) -> int | None:
    """Write ``source`` as UTF-8 to ``target``; its number of lines, or ``None`` when the text has
    bytes the encoding refuses, or a form DuckDB's CSV parser reads differently from Python's."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    newlines, last, held = 0, "", ""
    with source.open("rb") as src, target.open("wb") as dst:
        while True:
            chunk = src.read(_CHUNK)
            try:
                text = held + decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError:
                return None
            held = ""
            if chunk and text.endswith("\r"):  # keep "\r\n" together across chunks
                text, held = text[:-1], "\r"
            if text:
                if text.count("\r") != text.count("\r\n"):
                    return None  # a lone carriage return ends a line for Python's csv
                window = last + text
                if ('" ' in window or ' "' in window) and _SPACE_AT_QUOTE.search(window):
                    return None
                dst.write(text.encode("utf-8"))
                newlines += text.count("\n")
                last = text[-1]
            if not chunk:
                break
    return newlines + (1 if last and last != "\n" else 0)


def _read(connection: duckdb.DuckDBPyConnection, utf8: Path, width: int) -> int | None:
    """Load the UTF-8 file into ``TABLE``; its number of records, or ``None`` if DuckDB refuses it."""
    import duckdb

    columns = {f"c{i}": "VARCHAR" for i in range(1, width + 2)}
    try:
        connection.execute(
            f"""
            create table {TABLE} as select * from read_csv(
                $path, columns = $columns, header = false, auto_detect = false, delim = ',',
                quote = '"', escape = '"', allow_quoted_nulls = false, null_padding = true,
                strict_mode = true, nullstr = $null, max_line_size = $max_line)
            """,
            {"path": str(utf8), "columns": columns, "null": _NULL, "max_line": csv.field_size_limit()},
        )
    except duckdb.Error:
        return None
    (records,) = connection.execute(f"select count(*) from {TABLE}").fetchone() or (0,)
    return int(records)


#: More rows than this with a quote in a field, and the file goes to the reader (parsing them again
#: would cost what the reader costs).
MAX_QUOTED_ROWS = 50_000


def _quoted_rows_differ(connection: duckdb.DuckDBPyConnection, utf8: Path, width: int) -> bool:
    """Whether a row with a quote character in a field reads differently with Python's ``csv``.

    DuckDB and Python agree on a quoted field's doubled quotes, not on every malformed form (a quote
    in an unquoted field, junk after a closing quote): each such row is parsed again as the reader
    parses it (``csv.reader``, strict) and compared field by field. One record is one line here
    (checked before), so a row's ``rowid`` is its line's index in the file.
    """
    columns = ", ".join(f"c{i}" for i in range(1, width + 2))
    found = connection.execute(
        f"select rowid, {columns} from {TABLE} where contains(concat_ws(chr(1), {columns}), '\"') "
        f"order by rowid limit {MAX_QUOTED_ROWS + 1}"
    ).fetchall()
    if len(found) > MAX_QUOTED_ROWS:
        return True
    wanted = {int(rowid): _without_trailing_empty(list(fields)) for rowid, *fields in found}
    if not wanted:
        return False
    with utf8.open("r", encoding="utf-8", newline="") as handle:
        for index, line in enumerate(handle):
            expected = wanted.pop(index, None)
            if expected is None:
                continue
            try:
                parsed: list[str | None] = list(next(csv.reader([line], strict=True), []))
            except csv.Error:
                return True
            if _without_trailing_empty(parsed) != expected:
                return True
            if not wanted:
                break
    return bool(wanted)


def _without_trailing_empty(fields: list[str | None]) -> list[str | None]:
    """A row's fields without the empty one after its trailing comma (DuckDB pads a row that has
    no trailing comma with NULL)."""
    return fields[:-1] if fields and fields[-1] in ("", None) else fields


def _problems(connection: duckdb.DuckDBPyConnection, layout: GaccLayout) -> int:
    """How many rows the fast path cannot vouch for (0: the file reads exactly as the reader reads it)."""
    width = len(layout.fields)
    fields = [f"c{i}" for i in range(1, width + 1)]
    extra = f"c{width + 1}"
    shape = [f"{c} is null" for c in fields]  # too few fields
    shape.append(f"({extra} is not null and {extra} <> '')")  # a last field that is not empty
    # A quote or a line break in a field, or whitespace other than spaces at either end of one.
    shape.append(f"regexp_matches(concat_ws(chr(1), {', '.join(fields)}), $unusual)")
    values = []
    for column, field in zip(fields, layout.fields, strict=True):
        text = _text_sql(column)
        if field in NUMERIC_FIELDS:
            values.append(f"not coalesce(regexp_full_match({text}, $number), true)")
        elif field == "month":
            values.append(
                f"not coalesce(regexp_full_match({text}, '{_MONTH}') "
                f"and substr({text}, 5, 2) between '01' and '12', true)"
            )
    data_checks = " or ".join(shape + values)
    sql = (
        f"select count(*) filter (where {' or '.join(shape)} or (rowid > 0 and ({data_checks}))) from {TABLE}"
    )
    parameters = {"unusual": _UNUSUAL, "number": _GACC_NUMBER.pattern}
    row = connection.execute(sql, parameters).fetchone()
    return int(row[0]) if row else 1
