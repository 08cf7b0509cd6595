"""Load one data month of GACC downloads: the month's current raw files become its partition of
``raw.gacc_export_rows`` in ``warehouse.duckdb`` (the warehouse module owns the tables and the
transaction; this module reads the files and hands it rows).
"""

from __future__ import annotations

import logging
from itertools import islice
from typing import TYPE_CHECKING, Any

from critmin import warehouse
from critmin.errors import PipelineError
from critmin.raw_zone import RawZone
from critmin.sources.gacc import SOURCE
from critmin.sources.gacc.read import FIELDS, GaccRecord, iter_records, read_layout
from critmin.sources.gacc.scan import SCAN_FOLDER, scan

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping
    from pathlib import Path

    import pandas as pd

    from critmin.months import Month
    from critmin.settings import Settings
    from critmin.sources.gacc.read import GaccLayout
    from critmin.warehouse import RunRef

log = logging.getLogger(__name__)

BATCH_ROWS = 5_000
#: The reader's field -> the column of raw.gacc_export_rows it goes to (the rest keep their name).
_COLUMN_OF_FIELD = {"month": "file_month"}


def _batches(records: Iterable[GaccRecord], size: int) -> Iterator[list[GaccRecord]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


def _frame(batch: list[GaccRecord]) -> pd.DataFrame:
    """A batch of records as text columns named like the table's (the warehouse casts them)."""
    import pandas as pd

    columns: dict[str, list[Any]] = {"source_line": [r.line_number for r in batch]}
    for field in FIELDS:
        columns[_COLUMN_OF_FIELD.get(field, field)] = [
            None if (v := getattr(r, field)) is None else str(v) for r in batch
        ]
    return pd.DataFrame(columns, dtype=object)


def _add_rows(
    partition: warehouse.CustomsMonthLoad, raw_file: Path, layout: GaccLayout, sha256: str, workdir: Path
) -> int:
    """Add one file's rows to the partition: in one INSERT from a Parquet file DuckDB wrote when the
    fast path reads the file (``scan``), else in batches through the Python reader."""
    with scan(raw_file, layout, workdir) as scanned:
        if scanned is not None:
            parquet = scanned.workdir / "rows.parquet"
            scanned.write_parquet(parquet, _COLUMN_OF_FIELD)
            return partition.add_rows_parquet(parquet, sha256)
    rows = 0
    for batch in _batches(iter_records(raw_file, layout), BATCH_ROWS):
        rows += partition.add_rows(_frame(batch), sha256)
    return rows


def load_month(
    settings: Settings,
    month: Month,
    quality_results: Iterable[Mapping[str, Any]] = (),
    run: RunRef | None = None,
) -> int:
    """Replace the month's partition with the rows of every accepted version of its raw files (the
    current ones, and the earlier releases they superseded, which the month's vintages are made
    of), atomically.

    The raw gate's results are written in the same transaction, and the load is recorded as
    ``run``'s, not yet gated. Returns the number of rows loaded.
    """
    paths = settings.paths
    zone = RawZone(paths.raw)
    current = {entry.sha256 for entry in zone.current(SOURCE, str(month))}
    if not current:
        raise PipelineError(f"nothing landed for {month}: run the land step first")
    entries = sorted(zone.accepted(SOURCE, str(month)), key=lambda e: e.sha256 not in current)
    seen: set[str] = set()
    with warehouse.customs_month_load(paths.warehouse_db, month, run) as partition:
        for entry in entries:
            if entry.sha256 in seen:
                if entry.sha256 in current:
                    log.warning("skipped %s: identical to another file of %s", entry.original_name, month)
                continue
            seen.add(entry.sha256)
            raw_file = paths.raw / entry.object_path
            layout = read_layout(raw_file)
            rows = _add_rows(partition, raw_file, layout, entry.sha256, paths.home / SCAN_FOLDER)
            partition.add_file(
                {
                    "sha256": entry.sha256,
                    "original_name": entry.original_name,
                    "data_rows": rows,
                    "landed_at": entry.landed_at,
                    "landing_sequence": entry.sequence,
                    "header_language": layout.language,
                    "has_partner_column": layout.has_partner,
                    "value_currency": layout.value_currency,
                    "released_on": entry.release_date,
                    "release_date_basis": entry.date_basis,
                    "is_current": entry.sha256 in current,
                }
            )
            state = "current" if entry.sha256 in current else "an earlier release"
            log.info(
                "loaded %s (released %s, %s): %d rows", entry.original_name, entry.release_date, state, rows
            )
        partition.record_results(quality_results)
    log.info(
        "partition %s of %s replaced: %d rows from %d file versions",
        month,
        warehouse.GACC_EXPORT_ROWS,
        partition.rows,
        len(seen),
    )
    return partition.rows
