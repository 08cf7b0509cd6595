"""Land one release month of GACC commodity tables into the raw zone.

``landing/gacc/tables/YYYY-MM/`` holds the tables of the release month (the latest month they
cover): the flash tables, later tables (13) and (14), in RMB or USD. Each file is read whole by
``read.read_table`` before its bytes are copied (a table is a few kilobytes), so a file that is not
one of them, or whose catalogued lines do not read as the catalogue says, is refused and
quarantined without entering the raw zone; the landing itself is ``critmin.sources.landing``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from critmin.months import Month
from critmin.sources import landing
from critmin.sources.gacc_tables import SOURCE, WHAT_TO_DO
from critmin.sources.gacc_tables.cells import SUFFIXES
from critmin.sources.gacc_tables.read import load_catalogue, read_table
from critmin.sources.landing import FileKind, Landing

if TYPE_CHECKING:
    from pathlib import Path

    from critmin.errors import InputError
    from critmin.settings import Settings

FILES = "the tables (.xls, or the page saved as .html)"
GET = "download the month's flash tables and tables (13)/(14) from GACC"


def file_kind(settings: Settings, month: Month) -> FileKind:
    catalogue = load_catalogue(settings.seeds_dir)
    return FileKind(
        source=SOURCE,
        suffixes=SUFFIXES,
        described="GACC commodity tables, as .xls (or .xlsx) workbooks or saved .html pages",
        what_to_do=WHAT_TO_DO,
        precheck=lambda path: read_table(path, month, catalogue),
        check=lambda path, stored, table: len(table.figures),
        files=FILES,
        get=GET,
        run_command="make run-tables MONTH={month}",
    )


def land_month(settings: Settings, month: Month | str, *, backfill: bool = False) -> Landing:
    """Land every table of the release month's folder; refused tables are quarantined. A table
    released before one already landed for the month is refused unless ``backfill``."""
    month = Month.parse(month)
    return landing.land_month(settings, month, file_kind(settings, month), backfill=backfill)


def no_files_error(month: Month, folder: Path, problem: str | None = None, **options: Any) -> InputError:
    return landing.no_files_error(month, folder, problem, files=FILES, get=GET, **options)
