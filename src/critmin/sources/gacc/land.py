"""Land one data month of GACC downloads into the raw zone.

``land_month`` takes the files a data engineer dropped in ``landing/gacc/export/YYYY-MM/``, reads
each one through (the reader refuses what cannot be a GACC download; DuckDB reads it instead when
it reads it exactly as the reader would, see ``scan``), copies its bytes into the
content-addressed raw zone and records it in the manifest. A file the reader refuses is quarantined
with a report. Landing does not run the quality gates: the DAG does, next.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from critmin.errors import InputError
from critmin.sources import landing
from critmin.sources.gacc import SOURCE, WHAT_TO_DO
from critmin.sources.gacc.read import iter_records, read_layout
from critmin.sources.gacc.scan import SCAN_FOLDER, scan
from critmin.sources.landing import FileKind, Landing

if TYPE_CHECKING:
    from pathlib import Path

    from critmin.months import Month
    from critmin.settings import Settings
    from critmin.sources.gacc.read import GaccLayout

log = logging.getLogger(__name__)

#: What an empty month's folder needs, and where it comes from.
FILES, GET = "the CSV files", "download the month from the GACC platform"


def _precheck(path: Path) -> GaccLayout:
    """The header and the encoding: what no reader can read is refused before it is stored."""
    return read_layout(path)


def check_file(path: Path, workdir: Path | None = None, layout: GaccLayout | None = None) -> int:
    """Read the whole file once and return its number of data rows.

    Raises ``InputError`` (with the rule it breaks) for anything the reader refuses: encoding,
    headers, malformed or truncated rows, non-numeric numbers, and a file without data rows. What
    the rows say (keys, signs, duplicates, the month) is the raw quality gate's business. The file
    is read by DuckDB (``scan``, temporary files under ``workdir``) when it can be read exactly as
    the Python reader reads it; otherwise, and always to name a refusal, by the Python reader.
    """
    layout = layout or read_layout(path)
    with scan(path, layout, workdir) as scanned:
        rows = scanned.data_rows if scanned is not None else None
    if rows is None:
        rows = sum(1 for _ in iter_records(path, layout))
    if rows == 0:
        raise InputError(
            path,
            "the file has a header but no data rows",
            hint="the query returned nothing; check the query and download it again",
            rule="file_has_data_rows",
        )
    return rows


def _kind(settings: Settings) -> FileKind:
    workdir = settings.paths.home / SCAN_FOLDER
    return FileKind(
        source=SOURCE,
        suffixes=(".csv",),
        described="CSV downloads from the GACC platform",
        what_to_do=WHAT_TO_DO,
        precheck=_precheck,
        check=lambda path, layout: check_file(path, workdir, layout),
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
