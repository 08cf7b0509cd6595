"""Load one data month of GACC downloads: the month's current raw files become its partition of
``raw.gacc_export_rows`` in ``warehouse.duckdb`` (the warehouse module owns the tables and the
transaction; this module hands it each file's parse, ``parsed``, which landing wrote).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from critmin import warehouse
from critmin.errors import PipelineError
from critmin.raw_zone import RawZone
from critmin.sources.gacc import SOURCE, parsed
from critmin.sources.gacc.scan import SCAN_FOLDER

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from critmin.months import Month
    from critmin.settings import Settings
    from critmin.warehouse import RunRef

log = logging.getLogger(__name__)


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
            rows_file = parsed.opened(paths.raw / entry.object_path, paths.home / SCAN_FOLDER)
            layout = rows_file.layout
            rows = partition.add_rows_parquet(rows_file.path, entry.sha256)
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
