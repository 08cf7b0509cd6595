"""Load one release month of commodity tables: its current tables' figures become the release
month's partition of ``raw.gacc_table_figures`` (and its tables ``raw.gacc_table_files``), in one
transaction, with the raw gate's results (the warehouse module owns the tables)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from critmin.errors import PipelineError
from critmin.raw_zone import RawZone
from critmin.sources.gacc_tables import SOURCE
from critmin.sources.gacc_tables.read import CommodityTable, load_catalogue, read_table
from critmin.warehouse.loads import tables_release_load
from critmin.warehouse.tables import GACC_TABLE_FIGURES

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from critmin.months import Month
    from critmin.raw_zone import ManifestEntry
    from critmin.settings import Settings
    from critmin.warehouse import RunRef

log = logging.getLogger(__name__)


def current_tables(settings: Settings, month: Month) -> list[tuple[ManifestEntry, CommodityTable]]:
    """The release month's current tables (the latest released accepted version of each file),
    read from the raw zone."""
    return _read(settings, month, RawZone(settings.paths.raw).current(SOURCE, str(month)))


def accepted_tables(settings: Settings, month: Month) -> list[tuple[ManifestEntry, CommodityTable]]:
    """Every accepted version of the release month's tables (the current ones first)."""
    zone = RawZone(settings.paths.raw)
    current = {entry.sha256 for entry in zone.current(SOURCE, str(month))}
    entries = sorted(zone.accepted(SOURCE, str(month)), key=lambda e: e.sha256 not in current)
    return _read(settings, month, entries)


def _read(
    settings: Settings, month: Month, entries: list[ManifestEntry]
) -> list[tuple[ManifestEntry, CommodityTable]]:
    catalogue = load_catalogue(settings.seeds_dir)
    return [
        (entry, read_table(settings.paths.raw / entry.object_path, month, catalogue)) for entry in entries
    ]


def figure_rows(table: CommodityTable, sha256: str) -> list[dict[str, Any]]:
    """A table's figures as rows of ``raw.gacc_table_figures``."""
    frame = table.frame
    return [
        {
            "source_file_sha256": sha256,
            "source_line": figure.row,
            "table_kind": frame.title.kind,
            "flow": frame.title.flow,
            "series_id": figure.series_id,
            "printed_as": figure.printed_as,
            "period_kind": figure.period_kind,
            "period_start": figure.period_start.first_day,
            "period_end": figure.period_end.first_day,
            "quantity": figure.quantity,
            "quantity_decimals": figure.quantity_decimals,
            "value_printed": figure.value_printed,
            "value_unit": frame.unit_label,
            "value_currency": frame.currency,
            "value": figure.value,
            "value_step": figure.value_step,
            "yoy_quantity_pct": figure.yoy_quantity_pct,
            "yoy_value_pct": figure.yoy_value_pct,
        }
        for figure in table.figures
    ]


def load_month(
    settings: Settings,
    month: Month,
    quality_results: Iterable[Mapping[str, Any]] = (),
    run: RunRef | None = None,
) -> int:
    """Replace the release month's partition with the figures of every accepted version of its
    tables (the current ones, and the earlier releases they superseded), atomically, as ``run``'s
    load (not yet gated). Returns the number of figures loaded."""
    current = {entry.sha256 for entry in RawZone(settings.paths.raw).current(SOURCE, str(month))}
    if not current:
        raise PipelineError(f"no commodity tables landed for {month}: run the land step first")
    tables = accepted_tables(settings, month)
    seen: set[str] = set()
    with tables_release_load(settings.paths.warehouse_db, month, run) as release:
        for entry, table in tables:
            if entry.sha256 in seen:
                if entry.sha256 in current:
                    log.warning("skipped %s: identical to another table of %s", entry.original_name, month)
                continue
            seen.add(entry.sha256)
            release.add_figures(figure_rows(table, entry.sha256))
            release.add_file(
                {
                    "sha256": entry.sha256,
                    "original_name": entry.original_name,
                    "figures": len(table.figures),
                    "landed_at": entry.landed_at,
                    "landing_sequence": entry.sequence,
                    "table_kind": table.kind,
                    "flow": table.flow,
                    "value_currency": table.frame.currency,
                    "value_unit": table.frame.unit_label,
                    "file_type": table.file_type,
                    "title": table.frame.title.label,
                    "released_on": entry.release_date,
                    "release_date_basis": entry.date_basis,
                    "is_current": entry.sha256 in current,
                }
            )
            log.info(
                "loaded %s (released %s, %s): %s, %d figures",
                entry.original_name,
                entry.release_date,
                "current" if entry.sha256 in current else "an earlier release",
                table.frame.title.label,
                len(table.figures),
            )
        release.record_results(quality_results)
    log.info("release %s of %s replaced: %d figures", month, GACC_TABLE_FIGURES, release.figures)
    return release.figures
