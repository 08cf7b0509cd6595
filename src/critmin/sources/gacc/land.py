"""Land one data month of GACC downloads into the raw zone.

``land_month`` takes the files a data engineer dropped in ``landing/gacc/export/YYYY-MM/``, reads
each one through (the reader refuses what cannot be a GACC download; DuckDB reads it instead when
it reads it exactly as the reader would, see ``scan``), copies its bytes into the
content-addressed raw zone and records it in the manifest. A file the reader refuses is quarantined
with a report. Landing does not run the quality gates: the DAG does, next.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from critmin.errors import InputError, QualityGateError, failure_of_input_error, printable
from critmin.quality.quarantine import quarantine_file
from critmin.raw_zone import ManifestEntry, RawZone, sha256_of
from critmin.sources.gacc import SOURCE, WHAT_TO_DO
from critmin.sources.gacc.read import iter_records, read_layout
from critmin.sources.gacc.scan import SCAN_FOLDER, scan

if TYPE_CHECKING:
    from pathlib import Path

    from critmin.months import Month
    from critmin.settings import Settings
    from critmin.sources.gacc.read import GaccLayout

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LandedFile:
    entry: ManifestEntry
    is_new: bool


@dataclass
class Landing:
    """What landing a month found: every file checked, the refusals, the month's current files."""

    month: Month
    folder: Path
    checked: list[dict[str, Any]] = field(default_factory=list)
    refused: list[InputError] = field(default_factory=list)
    current: list[LandedFile] = field(default_factory=list)

    def raise_for_refusals(self, settings: Settings, docs: Path | None = None) -> None:
        """Fail naming every refused file (and, for a refused correction, the version the month
        keeps); or, with nothing refused, when the month has no files."""
        if self.refused:
            kept = {f.entry.original_name: f.entry for f in self.current}
            notes = [kept_note(kept[error.path.name]) for error in self.refused if error.path.name in kept]
            raise QualityGateError.from_input_errors(
                str(self.month), SOURCE, self.refused, settings.paths.quarantine, docs, notes
            )
        if not self.current:
            raise no_files_error(self.month, self.folder)


def kept_note(entry: ManifestEntry) -> str:
    """What the month keeps of a file whose correction was refused."""
    return (
        f"{printable(entry.original_name)}: the month keeps the version accepted before "
        f"(sha256 {entry.sha256[:12]}, landed {entry.landed_at}); the refused correction was not loaded"
    )


def no_files_error(
    month: Month,
    folder: Path,
    problem: str | None = None,
    *,
    then: str | None = None,
    kind: type[InputError] = InputError,
) -> InputError:
    """The month has no files to land: the error names the folder to fill (and what to do ``then``)."""
    hint = f"download the month from the GACC platform and put the CSV files in {folder}/"
    return kind(
        folder,
        problem or f"no files have been landed for {month}",
        hint=f"{hint}, then {then}" if then else hint,
        rule="month_has_files",
    )


def _check_folder(home: Path, folder: Path) -> None:
    """Refuse a landing folder reached through a link: nothing outside ``$CRITMIN_HOME`` is ever
    read as landing, moved or changed."""
    for part in (folder, *folder.parents):
        if part == home or home not in part.parents:
            break
        if part.is_symlink():
            raise InputError(
                part,
                f"the landing folder is a link (to {part.readlink()}); critmin never follows links "
                "out of its landing folder, and moved nothing",
                hint=f"make {part} a real folder and put the month's downloads in it",
                rule="landing_folder_is_regular",
            )


def candidates(folder: Path) -> list[Path]:
    """What landing the month reads: every entry of its folder but hidden ones (``.name``)."""
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if not path.name.startswith("."))


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


def _checked(name: str, sha256: str | None, rows: int | None, error: InputError | None) -> dict[str, Any]:
    return {
        "source_file": name,
        "sha256": sha256,
        "data_rows": rows,
        "refused_rule": error.rule if error else None,
        "refused_because": str(error) if error else None,
    }


def land_month(settings: Settings, month: Month) -> Landing:
    """Land every file of the month's landing folder into the raw zone.

    Every file's bytes go to the raw zone first. A file the reader refuses is quarantined with a
    report; the others are landed. The result lists every file checked, the refusals, and the
    month's current files (the latest accepted version of each file name).
    """
    paths = settings.paths
    landing = Landing(month, paths.landing_dir(SOURCE, month))
    _check_folder(paths.home, landing.folder)
    zone = RawZone(paths.raw)
    landed: list[LandedFile] = []
    for path in candidates(landing.folder):
        sha256, stored = None, None
        try:
            _check_candidate(path)
            # What no reader can read (not text, no GACC header: a 2 GB file of zeros, say) is
            # refused before its bytes are copied; it is kept, moved to the quarantine.
            layout = read_layout(path)
            sha256 = sha256_of(path)
            stored = zone.store(path, sha256)
            rows = check_file(path, paths.home / SCAN_FOLDER, layout)
        except InputError as error:
            landing.refused.append(error)
            landing.checked.append(_checked(path.name, sha256, None, error))
            if sha256 is not None and stored is not None:
                zone.record(SOURCE, str(month), path.name, sha256, 0, stored, status="quarantined")
            quarantine_file(
                paths,
                source=SOURCE,
                month=month,
                original_name=path.name,
                sha256=sha256,
                landing_file=path,
                raw_object=stored,
                failures=[failure_of_input_error(error)],
                what_to_do=WHAT_TO_DO.format(month=month),
            )
            continue
        landing.checked.append(_checked(path.name, sha256, rows, None))
        entry, is_new = zone.record(SOURCE, str(month), path.name, sha256, rows, stored)
        log.info(
            "%s %s: %d data rows, sha256 %s",
            "landed" if is_new else "unchanged",
            printable(path.name),
            rows,
            sha256[:12],
        )
        landed.append(LandedFile(entry, is_new))
    in_folder = {f.entry.original_name for f in landed}
    new = {f.entry.original_name for f in landed if f.is_new}
    for entry in zone.current(SOURCE, str(month)):
        if entry.original_name not in in_folder:
            log.info(
                "kept %s from an earlier landing (no longer in the folder)", printable(entry.original_name)
            )
        landing.current.append(LandedFile(entry, entry.original_name in new))
    for refused, kept in zone.refused_corrections(SOURCE, str(month)):
        log.warning(
            "%s: its latest version (sha256 %s, landed %s) was refused and is in %s; the month keeps "
            "the version accepted before it (sha256 %s, landed %s). To replace it, put a corrected "
            "file in the landing folder under the same name.",
            printable(refused.original_name),
            refused.sha256[:12],
            refused.landed_at,
            paths.quarantine / SOURCE / str(month),
            kept.sha256[:12],
            kept.landed_at,
        )
    return landing
