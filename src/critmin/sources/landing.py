"""Landing a month's files into the raw zone: what every file source does the same way.

A source's landing folder holds one folder per month (``landing/<source>/YYYY-MM/``). Landing the
month reads every file in it (never through a link out of ``$CRITMIN_HOME``), refuses what is not
one of the source's files before copying a byte, copies the rest into the content-addressed raw
zone, checks each whole, and records it in the manifest. A refused file is moved to the quarantine
with a report (its bytes also stay in the raw zone when they were stored), and the month keeps the
version of that file accepted before, if any. The source says what its files are (suffixes, a
quick check before storing, the full check after) and how to name the rows it read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from critmin.errors import InputError, QualityGateError, failure_of_input_error, printable
from critmin.quality.quarantine import quarantine_file
from critmin.raw_zone import ManifestEntry, RawZone, sha256_of
from critmin.sources.releases import (
    is_release_dates_file,
    older_release_error,
    read_release_dates,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from critmin.months import Month
    from critmin.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileKind:
    """What a source's landing folder holds."""

    source: str  # e.g. "gacc/export"
    suffixes: tuple[str, ...]  # lower case, with the dot
    described: str  # "CSV downloads from the GACC platform"
    what_to_do: str  # for a refused file; ``{month}`` is filled in
    #: A quick check before the bytes are stored (refuses what no reader can read); returns what
    #: the full check needs.
    precheck: Callable[[Path], Any]
    #: The full check of a file (the landing file, then where its bytes were stored in the raw
    #: zone, and what the precheck returned): returns its number of data rows (or figures).
    check: Callable[[Path, Path, Any], int]
    #: The rule a file of another kind breaks.
    suffix_rule: str = "file_kind_accepted"
    #: For an empty month's message: the files to put in its folder, and where they come from.
    files: str = "the files"
    get: str = ""
    #: How a person runs a month (for a backfill's hint).
    run_command: str = "make run-month MONTH={month}"


@dataclass(frozen=True)
class LandedFile:
    entry: ManifestEntry
    is_new: bool


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
    files: str = "the files",
    get: str = "",
) -> InputError:
    """The month has no files to land: the error names the folder to fill (and what to do ``then``);
    ``get`` says where the files come from."""
    hint = f"{get} and put {files} in {folder}/" if get else f"put {files} in {folder}/"
    return kind(
        folder,
        problem or f"no files have been landed for {month}",
        hint=f"{hint}, then {then}" if then else hint,
        rule="month_has_files",
    )


@dataclass
class Landing:
    """What landing a month found: every file checked, the refusals, the month's current files."""

    month: Month
    folder: Path
    kind: FileKind
    checked: list[dict[str, Any]] = field(default_factory=list)
    refused: list[InputError] = field(default_factory=list)
    current: list[LandedFile] = field(default_factory=list)

    def raise_for_refusals(self, settings: Settings, docs: Path | None = None) -> None:
        """Fail naming every refused file (and, for a refused correction, the version the month
        keeps); or, with nothing refused, when the month has no files."""
        if self.refused:
            from critmin.quality.gate import publish_docs

            publish_docs(settings)
            kept = {f.entry.original_name: f.entry for f in self.current}
            notes = [kept_note(kept[error.path.name]) for error in self.refused if error.path.name in kept]
            raise QualityGateError.from_input_errors(
                str(self.month), self.kind.source, self.refused, settings.paths.quarantine, docs, notes
            )
        if not self.current:
            raise no_files_error(self.month, self.folder, files=self.kind.files, get=self.kind.get)


def check_folder(home: Path, folder: Path) -> None:
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
                hint=f"make {part} a real folder and put the month's files in it",
                rule="landing_folder_is_regular",
            )


def candidates(folder: Path) -> list[Path]:
    """What landing the month reads: every entry of its folder but hidden ones (``.name``) and
    the folder's ``release_dates.csv`` (``critmin.sources.releases``)."""
    if not folder.is_dir():
        return []
    return sorted(
        path for path in folder.iterdir() if not path.name.startswith(".") and not is_release_dates_file(path)
    )


def _check_candidate(path: Path, kind: FileKind) -> None:
    if path.is_symlink() or not path.is_file():
        raise InputError(
            path,
            "not a regular file (a link or a folder) in the landing folder",
            hint="put the files themselves in the month's folder",
            rule="landing_file_is_regular",
        )
    if path.suffix.lower() not in kind.suffixes:
        raise InputError(
            path,
            f"only {kind.described} are accepted ({', '.join(kind.suffixes)})",
            hint=f"put {kind.described} in the folder",
            rule=kind.suffix_rule,
        )


def _checked(name: str, sha256: str | None, rows: int | None, error: InputError | None) -> dict[str, Any]:
    return {
        "source_file": name,
        "sha256": sha256,
        "data_rows": rows,
        "refused_rule": error.rule if error else None,
        "refused_because": str(error) if error else None,
    }


def land_month(settings: Settings, month: Month, kind: FileKind, *, backfill: bool = False) -> Landing:
    """Land every file of the month's landing folder into the raw zone, each with its release date
    (``release_dates.csv``, else its landing day); the result lists every file checked, the
    refusals, and the month's current files (the latest released accepted version of each file
    name). A file released before a release of the month already landed is refused unless
    ``backfill``: then it joins the month's history as the earlier release it is."""
    paths = settings.paths
    landing = Landing(month, paths.landing_dir(kind.source, month), kind)
    check_folder(paths.home, landing.folder)
    zone = RawZone(paths.raw)
    files = candidates(landing.folder)
    dates = read_release_dates(landing.folder, month, {path.name for path in files})
    landed: list[LandedFile] = []
    for path in files:
        sha256, stored = None, None
        released = dates.get(path.name)
        try:
            _check_candidate(path, kind)
            first_look = kind.precheck(path)  # refused before a byte is copied
            sha256 = sha256_of(path)
            stored = zone.store(path, sha256)
            rows = kind.check(path, stored, first_look)
            if released is not None and not backfill:
                _check_not_older(zone, kind, month, path, sha256, released)
        except InputError as error:
            landing.refused.append(error)
            landing.checked.append(_checked(path.name, sha256, None, error))
            if sha256 is not None and stored is not None:
                zone.record(kind.source, str(month), path.name, sha256, 0, stored, status="quarantined")
            quarantine_file(
                paths,
                source=kind.source,
                month=month,
                original_name=path.name,
                sha256=sha256,
                landing_file=path,
                raw_object=stored,
                failures=[failure_of_input_error(error)],
                what_to_do=kind.what_to_do.format(month=month),
            )
            continue
        landing.checked.append(_checked(path.name, sha256, rows, None))
        entry, is_new = zone.record(
            kind.source,
            str(month),
            path.name,
            sha256,
            rows,
            stored,
            released_on=released.released_on if released else None,
            release_date_basis=released.basis if released else None,
        )
        _log_landed(path, entry, is_new, rows, released)
        landed.append(LandedFile(entry, is_new))
    in_folder = {f.entry.original_name for f in landed}
    new = {f.entry.original_name for f in landed if f.is_new}
    _log_backfilled(zone, kind, month, landed)
    for entry in zone.current(kind.source, str(month)):
        if entry.original_name not in in_folder:
            name = printable(entry.original_name)
            log.info("kept %s from an earlier landing (no longer in the folder)", name)
        landing.current.append(LandedFile(entry, entry.original_name in new))
    for refused, kept in zone.refused_corrections(kind.source, str(month)):
        log.warning(
            "%s: its latest version (sha256 %s, landed %s) was refused and is in %s; the month keeps "
            "the version accepted before it (sha256 %s, landed %s). To replace it, put a corrected "
            "file in the landing folder under the same name.",
            printable(refused.original_name),
            refused.sha256[:12],
            refused.landed_at,
            paths.quarantine / kind.source / str(month),
            kept.sha256[:12],
            kept.landed_at,
        )
    return landing


def _check_not_older(zone: RawZone, kind: FileKind, month: Month, path: Path, sha256: str, released) -> None:
    """Refuse new bytes released before a release of the month already landed."""
    if any(e.sha256 == sha256 for e in zone.accepted(kind.source, str(month))):
        return  # the same release landed again: nothing new
    latest = zone.latest_release(kind.source, str(month), other_than=sha256)
    if latest is not None and released.released_on < latest.release_date:
        raise older_release_error(path, month, released, latest, kind.run_command.format(month=month))


def _log_landed(path: Path, entry: ManifestEntry, is_new: bool, rows: int, released) -> None:
    name = printable(path.name)
    if is_new:
        when = f"released {entry.release_date} ({entry.date_basis})"
        log.info("landed %s: %d data rows, sha256 %s, %s", name, rows, entry.sha256[:12], when)
        return
    log.info("unchanged %s: %d data rows, sha256 %s", name, rows, entry.sha256[:12])
    if released is not None and released.released_on != entry.release_date:
        log.warning(
            "%s is a release landed before, on %s as released %s (%s): it keeps that date, not the %s "
            "of release_dates.csv (a release's date is recorded when it is first landed)",
            name,
            entry.landed_at,
            entry.release_date,
            entry.date_basis,
            released.released_on,
        )


def _log_backfilled(zone: RawZone, kind: FileKind, month: Month, landed: list[LandedFile]) -> None:
    current = {e.original_name: e for e in zone.current(kind.source, str(month))}
    for item in landed:
        now = current.get(item.entry.original_name)
        if item.is_new and now is not None and now.sha256 != item.entry.sha256:
            log.info(
                "%s of %s is an earlier release, added to the month's history; the version released "
                "%s (sha256 %s) stays current",
                printable(item.entry.original_name),
                item.entry.release_date,
                now.release_date,
                now.sha256[:12],
            )
