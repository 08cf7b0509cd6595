"""Land one data month of GACC downloads into the raw zone.

``land_month`` takes the files a data engineer dropped in ``landing/gacc/export/YYYY-MM/``, copies
each one's bytes into the content-addressed raw zone, parses it once (``parsed``: the reader
refuses what cannot be a GACC download; DuckDB reads it instead when it reads it exactly as the
reader would, see ``scan``) into the rows file the gate and the load read, and records it in the
manifest. A file the reader refuses is quarantined
with a report. Landing does not run the quality gates: the DAG does, next.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from critmin.sources import landing
from critmin.sources.gacc import SOURCE, WHAT_TO_DO, parsed
from critmin.sources.gacc.read import read_layout
from critmin.sources.gacc.scan import SCAN_FOLDER
from critmin.sources.landing import FileKind, Landing

if TYPE_CHECKING:
    from pathlib import Path

    from critmin.errors import InputError
    from critmin.months import Month
    from critmin.settings import Settings
    from critmin.sources.gacc.read import GaccLayout

log = logging.getLogger(__name__)

#: What an empty month's folder needs, and where it comes from.
FILES, GET = "the CSV files", "download the month from the GACC platform"


def _precheck(path: Path) -> GaccLayout:
    """The header and the encoding: what no reader can read is refused before it is stored."""
    return read_layout(path)


def check_file(
    path: Path, stored: Path, workdir: Path | None = None, layout: GaccLayout | None = None
) -> int:
    """Parse the file once (``parsed.parse``: its rows kept beside ``stored``, its raw object, for
    the gate and the load) and return its number of data rows.

    Raises ``InputError`` (with the rule it breaks) for anything the reader refuses: encoding,
    headers, malformed or truncated rows, non-numeric numbers, and a file without data rows. What
    the rows say (keys, signs, duplicates, the month) is the raw quality gate's business. A file
    whose content was parsed before (landed again, unchanged) is not read again.
    """
    return parsed.parse(path, parsed.rows_path(stored), workdir, layout).data_rows


def _kind(settings: Settings) -> FileKind:
    workdir = settings.paths.home / SCAN_FOLDER
    return FileKind(
        source=SOURCE,
        suffixes=(".csv",),
        described="CSV downloads from the GACC platform",
        what_to_do=WHAT_TO_DO,
        precheck=_precheck,
        check=lambda path, stored, layout: check_file(path, stored, workdir, layout),
        suffix_rule="file_is_csv",
        files=FILES,
        get=GET,
    )


def land_month(settings: Settings, month: Month, *, backfill: bool = False) -> Landing:
    """Land every download of the month's landing folder into the raw zone (``landing.land_month``):
    a file the reader refuses is quarantined with a report; the others are landed. A download
    released before one already landed for the month is refused unless ``backfill``."""
    return landing.land_month(settings, month, _kind(settings), backfill=backfill)


def no_files_error(month: Month, folder: Path, problem: str | None = None, **options: Any) -> InputError:
    """The month has no downloads to land: names the folder to fill (``landing.no_files_error``)."""
    return landing.no_files_error(month, folder, problem, files=FILES, get=GET, **options)
