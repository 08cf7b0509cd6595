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

from critmin.errors import InputError, PipelineError, QualityGateError, failure_of_input_error
from critmin.gacc.reader import FIELDS, GaccRecord, iter_records, read_layout
from critmin.months import first_day, parse_month
from critmin.quarantine import quarantine_file
from critmin.raw_zone import ManifestEntry, RawZone, sha256_of
from critmin.warehouse import connect, ensure_raw_tables, transaction

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

    from critmin.settings import Paths

log = logging.getLogger(__name__)

SOURCE = "gacc/export"
BATCH_ROWS = 5_000

ROWS_TABLE = "raw.gacc_export_rows"
FILES_TABLE = "raw.gacc_export_files"
#: The month's partition as it was before the last load, to restore if a later step fails.
PREVIOUS_SUFFIX = "__before_load"
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
create table if not exists {ROWS_TABLE}{PREVIOUS_SUFFIX} as from {ROWS_TABLE} limit 0;
create table if not exists {FILES_TABLE}{PREVIOUS_SUFFIX} as from {FILES_TABLE} limit 0;
"""


@dataclass(frozen=True)
class LandedFile:
    entry: ManifestEntry
    is_new: bool


WHAT_TO_DO = (
    "fix or download the file again, put it in landing/{source}/{month}/ (under the same name to "
    "replace the refused version) and run the month again"
)


def _candidates(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if not path.name.startswith("."))


def ensure_tables(connection) -> None:
    connection.execute(_DDL)


def _check_candidate(path: Path) -> None:
    if path.is_symlink() or not path.is_file():
        raise InputError(
            path,
            "not a regular file (a link or a folder) in the landing folder",
            hint="put the downloaded CSV files themselves in the month's folder",
            rule="landing_file_is_regular",
        )
    if path.suffix.lower() != ".csv":
        raise InputError(
            path,
            "only CSV downloads from the GACC platform are accepted",
            hint="download the query result as CSV",
            rule="file_is_csv",
        )


def check_file(path: Path) -> int:
    """Read the whole file once (streaming) and return its number of data rows.

    Raises ``InputError`` (with the rule it breaks) for anything the reader refuses: encoding,
    headers, malformed or truncated rows, non-numeric numbers, and a file without data rows. What
    the rows say (keys, signs, duplicates, the month) is the raw quality gate's business.
    """
    layout = read_layout(path)
    rows = sum(1 for _ in iter_records(path, layout))
    if rows == 0:
        raise InputError(
            path,
            "the file has a header but no data rows",
            hint="the query returned nothing; check the query and download it again",
            rule="file_has_data_rows",
        )
    return rows


def _checked(name: str, sha256: str | None, rows: int | None, error: InputError | None) -> dict:
    return {
        "source_file": name,
        "sha256": sha256,
        "data_rows": rows,
        "refused_rule": error.rule if error else None,
        "refused_because": str(error) if error else None,
    }


def land_month(paths: Paths, month: str) -> list[LandedFile]:
    """Land every file of the month's landing folder into the raw zone.

    Every file's bytes go to the raw zone first. A file the reader refuses is quarantined with a
    report; the others are landed. Returns the month's current files (the latest accepted version
    of each file name); raises ``QualityGateError`` naming every refused file.
    """
    month = parse_month(month)
    folder = paths.landing_dir(SOURCE, month)
    zone = RawZone(paths.raw)
    landed, refused = [], []
    checked: list[dict[str, object]] = []
    for path in _candidates(folder):
        sha256, stored = None, None
        try:
            _check_candidate(path)
            sha256 = sha256_of(path)
            stored = zone.store(path, sha256)
            rows = check_file(path)
        except InputError as error:
            refused.append(error)
            checked.append(_checked(path.name, sha256, None, error))
            if sha256 is not None and stored is not None:
                zone.record(SOURCE, month, path.name, sha256, 0, stored, status="quarantined")
            quarantine_file(
                paths,
                source=SOURCE,
                month=month,
                original_name=path.name,
                sha256=sha256,
                landing_file=path,
                raw_object=stored,
                failures=[failure_of_input_error(error)],
                what_to_do=WHAT_TO_DO.format(source=SOURCE, month=month),
            )
            continue
        checked.append(_checked(path.name, sha256, rows, None))
        entry, is_new = zone.record(SOURCE, month, path.name, sha256, rows, stored)
        state = "landed" if is_new else "unchanged"
        log.info("%s %s: %d data rows, sha256 %s", state, path.name, rows, sha256[:12])
        landed.append(LandedFile(entry, is_new))
    from critmin.gacc.quality import validate_landing

    docs = validate_landing(paths, month, checked)
    if refused:
        raise QualityGateError.from_input_errors(month, SOURCE, refused, paths.quarantine, docs)
    current = zone.current(SOURCE, month)
    if not current:
        raise InputError(
            folder,
            f"no files have been landed for {month}",
            hint=f"download the month from the GACC platform and put the CSV files in {folder}/",
            rule="month_has_files",
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


def _copy_partition(connection, source_table: str, target_table: str, day) -> None:
    """Make the month's partition of ``target_table`` a copy of that of ``source_table``."""
    connection.execute(f"delete from {target_table} where data_month = ?", [day])
    connection.execute(f"insert into {target_table} from {source_table} where data_month = ?", [day])


def load_month(paths: Paths, month: str, quality_results: list[dict] | None = None) -> int:
    """Replace the month's partition with the rows of its current raw files, atomically.

    The partition it replaces is kept aside (``*__before_load``) until the month is published, so
    ``restore_month`` can put it back if the transform or the mart gate fails. The raw gate's results
    are written in the same transaction. Returns the number of rows loaded.
    """
    from critmin.quality.results import replace_results

    month = parse_month(month)
    zone = RawZone(paths.raw)
    entries = zone.current(SOURCE, month)
    if not entries:
        raise PipelineError(f"nothing landed for {month}: run the land step first")
    loaded = 0
    seen: set[str] = set()
    day = first_day(month)
    with connect(paths.warehouse_db) as connection:
        ensure_raw_tables(connection)
        with transaction(connection):
            for table in (ROWS_TABLE, FILES_TABLE):
                _copy_partition(connection, table, f"{table}{PREVIOUS_SUFFIX}", day)
                connection.execute(f"delete from {table} where data_month = ?", [day])
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
                        day,
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
            replace_results(connection, month, quality_results or [])
    log.info("partition %s of %s replaced: %d rows from %d files", month, ROWS_TABLE, loaded, len(seen))
    return loaded


def restore_month(paths: Paths, month: str) -> None:
    """Put back the partition the last load replaced (an empty one for a month that was new)."""
    day = first_day(parse_month(month))
    with connect(paths.warehouse_db) as connection:
        connection.execute(_DDL)
        with transaction(connection):
            for table in (ROWS_TABLE, FILES_TABLE):
                _copy_partition(connection, f"{table}{PREVIOUS_SUFFIX}", table, day)
    log.warning("restored the partition of %s as it was before this run's load", month)
