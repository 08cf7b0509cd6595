"""Land and load one data month of GACC export downloads.

``land_month`` takes the files a data engineer dropped in ``landing/gacc/export/YYYY-MM/``, checks
each one with the reader, copies it into the raw zone and records it in the manifest.
``load_month`` replaces that month's partition of ``raw.gacc_export_rows`` in ``warehouse.duckdb``
with the rows of the month's current files, in one transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING

from critmin.errors import InputError, PipelineError
from critmin.gacc.codes import partner_codes
from critmin.gacc.reader import FIELDS, GaccRecord, iter_records, read_layout
from critmin.months import first_day, parse_month
from critmin.raw_zone import ManifestEntry, RawZone, sha256_of
from critmin.warehouse import connect, transaction

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

    from critmin.settings import Paths

log = logging.getLogger(__name__)

SOURCE = "gacc/export"
BATCH_ROWS = 5_000

ROWS_TABLE = "raw.gacc_export_rows"
FILES_TABLE = "raw.gacc_export_files"
_DDL = f"""
create schema if not exists raw;
create table if not exists {ROWS_TABLE} (
    data_month date not null,
    source_file_sha256 varchar not null,
    source_line integer not null,
    file_month varchar,
    hs8_code varchar,
    commodity_name varchar,
    partner_code varchar,
    partner_name varchar,
    regime_code varchar,
    regime_name varchar,
    province_code varchar,
    province_name varchar,
    quantity decimal(18, 3),
    unit varchar,
    supplementary_quantity decimal(18, 3),
    supplementary_unit varchar,
    value_usd decimal(18, 2),
    value_cny decimal(18, 2)
);
create table if not exists {FILES_TABLE} (
    data_month date not null,
    sha256 varchar not null,
    original_name varchar not null,
    data_rows integer not null,
    landed_at timestamptz not null,
    landing_sequence integer not null,
    header_language varchar not null,
    has_partner_column boolean not null,
    value_currency varchar
);
"""


@dataclass(frozen=True)
class LandedFile:
    entry: ManifestEntry
    is_new: bool


def _candidates(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    files = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_symlink() or not path.is_file():
            raise InputError(
                path,
                "not a regular file (a link or a folder) in the landing folder",
                hint="put the downloaded CSV files themselves in the month's folder",
            )
        if path.suffix.lower() != ".csv":
            raise InputError(
                path,
                "only CSV downloads from the GACC platform are accepted",
                hint="download the query result as CSV, or move this file out of the folder",
            )
        files.append(path)
    return files


def check_file(path: Path, month: str) -> int:
    """Read the whole file once (streaming); return its number of data rows.

    Raises ``InputError`` for an unreadable file, an unknown header, a malformed row, no data rows,
    a row without a commodity code, partner code or quantity (``?`` or empty), a partner code not in
    GACC's list, or a month column that disagrees with the folder the file was put in. These would
    otherwise reach the marts as NULL keys or silently smaller sums.
    """
    layout = read_layout(path)
    known_partners = partner_codes()
    rows = 0
    for record in iter_records(path, layout):
        if record.month is not None and record.month != month:
            raise InputError(
                path,
                f"the file says month {record.month} but lies in the folder for {month}",
                line=record.line_number,
                column=layout.header_for("month"),
                hint=f"move it to landing/{SOURCE}/{record.month}/, or download the {month} data",
            )
        required = ["hs8_code", "quantity"] + (["partner_code"] if layout.has_partner else [])
        for field in required:
            if getattr(record, field) is None:
                raise InputError(
                    path,
                    "the value is missing ('?' or empty); every row needs it",
                    line=record.line_number,
                    column=layout.header_for(field),
                    hint="download the file again; if the platform really gives '?' here, "
                    "report it before loading the month",
                )
        if layout.has_partner and record.partner_code not in known_partners:
            raise InputError(
                path,
                f"unknown trading partner code {record.partner_code!r}",
                line=record.line_number,
                column=layout.header_for("partner_code"),
                hint="check the file; if GACC added a partner, add it to "
                "dbt_project/seeds/reference/gacc_partners.csv",
            )
        rows += 1
    if rows == 0:
        raise InputError(
            path,
            "the file has a header but no data rows",
            hint="the query returned nothing; check the query and download it again",
        )
    return rows


def land_month(paths: Paths, month: str) -> list[LandedFile]:
    """Land every file of the month's landing folder into the raw zone.

    Returns the month's current files (the latest version of each file name). Raises ``InputError``
    for the first bad file; the file stays where it is.
    """
    month = parse_month(month)
    folder = paths.landing_dir(SOURCE, month)
    zone = RawZone(paths.raw)
    landed = []
    for path in _candidates(folder):
        rows = check_file(path, month)
        sha256 = sha256_of(path)
        stored = zone.store(path, sha256)
        entry, is_new = zone.record(SOURCE, month, path.name, sha256, rows, stored)
        state = "landed" if is_new else "unchanged"
        log.info("%s %s: %d data rows, sha256 %s", state, path.name, rows, sha256[:12])
        landed.append(LandedFile(entry, is_new))
    current = zone.current(SOURCE, month)
    if not current:
        raise InputError(
            folder,
            f"no files have been landed for {month}",
            hint=f"download the month from the GACC platform and put the CSV files in {folder}/",
        )
    in_folder = {f.entry.original_name for f in landed}
    new = {f.entry.original_name for f in landed if f.is_new}
    for entry in current:
        if entry.original_name not in in_folder:
            log.info("kept %s from an earlier landing (no longer in the folder)", entry.original_name)
    return [LandedFile(entry, entry.original_name in new) for entry in current]


def _batches(records: Iterable[GaccRecord], size: int) -> Iterator[list[GaccRecord]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


def _insert_batch(connection, batch: list[GaccRecord], month: str, sha256: str) -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "source_line": [r.line_number for r in batch],
            **{
                field: [None if (v := getattr(r, field)) is None else str(v) for r in batch]
                for field in FIELDS
            },
        },
        dtype=object,
    )
    connection.register("batch_frame", frame)
    try:
        connection.execute(
            f"""
            insert into {ROWS_TABLE}
            select
                ?::date, ?, source_line::integer, month, hs8_code, commodity_name,
                partner_code, partner_name, regime_code, regime_name, province_code,
                province_name, quantity::decimal(18, 3), unit,
                supplementary_quantity::decimal(18, 3), supplementary_unit,
                value_usd::decimal(18, 2), value_cny::decimal(18, 2)
            from batch_frame
            """,
            [first_day(month), sha256],
        )
    finally:
        connection.unregister("batch_frame")


def load_month(paths: Paths, month: str) -> int:
    """Replace the month's partition with the rows of its current raw files, atomically.

    Returns the number of rows loaded. A rerun gives the same partition; other months are untouched.
    """
    month = parse_month(month)
    zone = RawZone(paths.raw)
    entries = zone.current(SOURCE, month)
    if not entries:
        raise PipelineError(f"nothing landed for {month}: run the land step first")
    loaded = 0
    seen: set[str] = set()
    with connect(paths.warehouse_db) as connection:
        connection.execute(_DDL)
        with transaction(connection):
            connection.execute(f"delete from {ROWS_TABLE} where data_month = ?", [first_day(month)])
            connection.execute(f"delete from {FILES_TABLE} where data_month = ?", [first_day(month)])
            for entry in entries:
                if entry.sha256 in seen:
                    log.warning("skipped %s: identical to another file of %s", entry.original_name, month)
                    continue
                seen.add(entry.sha256)
                raw_file = paths.raw / entry.object_path
                layout = read_layout(raw_file)
                rows = 0
                for batch in _batches(iter_records(raw_file, layout), BATCH_ROWS):
                    _insert_batch(connection, batch, month, entry.sha256)
                    rows += len(batch)
                connection.execute(
                    f"insert into {FILES_TABLE} values (?, ?, ?, ?, ?::timestamptz, ?, ?, ?, ?)",
                    [
                        first_day(month),
                        entry.sha256,
                        entry.original_name,
                        rows,
                        entry.landed_at,
                        entry.sequence,
                        layout.language,
                        layout.has_partner,
                        layout.value_currency,
                    ],
                )
                log.info("loaded %s: %d rows", entry.original_name, rows)
                loaded += rows
    log.info("partition %s of %s replaced: %d rows from %d files", month, ROWS_TABLE, loaded, len(seen))
    return loaded
