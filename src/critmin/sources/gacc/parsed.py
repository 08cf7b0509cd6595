"""Each download parsed once: its rows as a Parquet file kept beside its raw object.

Landing parses a download once (``parse``) into ``raw/objects/<sha[:2]>/<sha256>.rows.parquet``,
beside the download's bytes (``<sha256>.csv``) and keyed, like them, by the download's sha256. The
raw gate and the load read that file (``opened``); no later step reads the CSV again.

The file holds the rows as ``raw.gacc_export_rows`` takes them, in the download's order:
``source_line`` (the row's line in the file) and every field the reader knows (``file_month`` for
its ``month``), each as text exactly as ``iter_records`` gives it: stripped, ``?`` and empty as
NULL, the month as ``YYYY-MM``, a number as its digits without thousands separators (text, so a
40-digit quantity stays what the file says until the gate judges it), NULL for a field the
download does not have. The header's layout (encoding, language, fields) is in the file's
metadata, so nothing has to read the CSV's header again either.

DuckDB writes it (``scan``) when it reads the file exactly as the Python reader does; otherwise the
Python reader's records are written, the same columns and values: the reader stays the definition
of a valid download and the explainer of every refusal (rule, line, column, value).

The file is written beside under a temporary name and renamed into place: a process killed while
writing leaves no file under the final name, and whoever opens it later parses the raw object again
(the raw object is the truth; this file is only its parse, and can always be made again).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING

from critmin.errors import InputError
from critmin.processes import process_alive
from critmin.sources.gacc.read import FIELDS, GaccLayout, iter_records, read_layout
from critmin.sources.gacc.scan import FOLDER_PREFIX, SCRATCH_MEMORY, scan

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import duckdb

    from critmin.sources.gacc.read import GaccRecord

#: The reader's field -> its column in the parsed file and in raw.gacc_export_rows.
COLUMN_OF_FIELD = {"month": "file_month"}
#: The parsed file's columns, in order.
COLUMNS: tuple[str, ...] = ("source_line", *(COLUMN_OF_FIELD.get(field, field) for field in FIELDS))
SUFFIX = ".rows.parquet"
_LAYOUT_KEY = "critmin_gacc_layout"
_BATCH_ROWS = 5_000


@dataclass(frozen=True)
class ParsedFile:
    """A download's parse: where its rows are, what its header said, how many data rows it has."""

    path: Path
    layout: GaccLayout
    data_rows: int


def rows_path(raw_object: Path) -> Path:
    """Where a raw object's parse lives: beside it, under its sha256."""
    return raw_object.with_name(raw_object.name.split(".", 1)[0] + SUFFIX)


def parse(
    path: Path, target: Path, workdir: Path | None = None, layout: GaccLayout | None = None
) -> ParsedFile:
    """Read ``path`` once and write its rows to ``target`` (kept if already there: a parse is made
    once per content). Raises ``InputError`` (with its rule) for what the reader refuses, and for a
    download without data rows; nothing is written then."""
    if target.exists():
        return _described(target, path)
    layout = layout or read_layout(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(target)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        with scan(path, layout, workdir) as scanned:
            if scanned is not None:
                _copy(scanned.connection, scanned.rows_query(COLUMN_OF_FIELD), partial, _metadata(layout))
                rows = scanned.data_rows
        if scanned is None:
            rows = _write_from_reader(path, layout, partial, workdir)
        if rows == 0:
            raise InputError(
                path,
                "the file has a header but no data rows",
                hint="the query returned nothing; check the query and download it again",
                rule="file_has_data_rows",
            )
        partial.chmod(0o444)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return ParsedFile(target, layout, rows)


def opened(raw_object: Path, workdir: Path | None = None) -> ParsedFile:
    """A landed download's parse, made again from the raw object when it is not there (a raw zone
    landed before parses were kept, a rebuild, a parse deleted by hand)."""
    return parse(raw_object, rows_path(raw_object), workdir)


def _described(target: Path, raw_object: Path) -> ParsedFile:
    import duckdb

    with duckdb.connect() as connection:
        (value,) = connection.execute(
            "select decode(value) from parquet_kv_metadata(?) where decode(key) = ?",
            [str(target), _LAYOUT_KEY],
        ).fetchone() or (None,)
        (rows,) = connection.execute(
            "select sum(num_rows) from parquet_file_metadata(?)", [str(target)]
        ).fetchone() or (0,)
    if value is None:  # not written by parse: make it again
        target.unlink()
        return parse(raw_object, target)
    described = json.loads(value)
    layout = GaccLayout(raw_object, described["encoding"], described["language"], tuple(described["fields"]))
    return ParsedFile(target, layout, int(rows or 0))


def _metadata(layout: GaccLayout) -> dict[str, str]:
    described = {"encoding": layout.encoding, "language": layout.language, "fields": list(layout.fields)}
    return {_LAYOUT_KEY: json.dumps(described)}


def _remove_stale_partials(target: Path) -> None:
    """Partial files of writers that were killed (their process is gone)."""
    for partial in target.parent.glob(f".{target.name}.*.partial"):
        pid = partial.name.removeprefix(f".{target.name}.").removesuffix(".partial")
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            partial.unlink(missing_ok=True)


def _batches(records: Iterator[GaccRecord]) -> Iterator[list[GaccRecord]]:
    while batch := list(islice(records, _BATCH_ROWS)):
        yield batch


def _write_from_reader(path: Path, layout: GaccLayout, target: Path, workdir: Path | None) -> int:
    """The fallback: the Python reader's records, written with the same columns and values."""
    import duckdb
    import pandas as pd

    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    rows = 0
    with (
        tempfile.TemporaryDirectory(prefix=f"{FOLDER_PREFIX}{os.getpid()}-", dir=workdir) as spill,
        duckdb.connect(config={"memory_limit": SCRATCH_MEMORY, "temp_directory": spill}) as connection,
    ):
        columns = ", ".join(f'"{c}" {"bigint" if c == "source_line" else "varchar"}' for c in COLUMNS)
        connection.execute(f"create table parsed ({columns})")
        for batch in _batches(iter_records(path, layout)):
            frame = pd.DataFrame(
                {
                    "source_line": [record.line_number for record in batch],
                    **{
                        COLUMN_OF_FIELD.get(field, field): [
                            None if (value := getattr(record, field)) is None else str(value)
                            for record in batch
                        ]
                        for field in FIELDS
                    },
                },
                dtype=object,
            )
            connection.register("batch", frame)
            connection.execute("insert into parsed select * from batch")
            connection.unregister("batch")
            rows += len(batch)
        _copy(connection, "select * from parsed order by source_line", target, _metadata(layout))
    return rows


def _copy(connection: duckdb.DuckDBPyConnection, query: str, target: Path, metadata: dict[str, str]) -> None:
    """``query``'s rows to a Parquet file with ``metadata`` (text values) in its footer."""
    quoted = str(target).replace("'", "''")
    pairs = ", ".join(f"{key}: '{value.replace(chr(39), chr(39) * 2)}'" for key, value in metadata.items())
    connection.execute(f"copy ({query}) to '{quoted}' (format parquet, kv_metadata {{{pairs}}})")
