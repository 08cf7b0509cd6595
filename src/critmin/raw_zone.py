"""The raw zone: an immutable, content-addressed copy of every landed file, and its manifest.

Every landed file, good or bad, is stored once under ``raw/objects/<sha[:2]>/<sha256><suffix>``
(read-only; a customs download's parse, ``<sha256>.rows.parquet``, is kept beside it: see
``critmin.sources.gacc.parsed``), and the manifest ``raw/manifest.jsonl`` gets one row per landed
version: source, data month, original file name, sha256, data rows, size, landed time, sequence and
status. The manifest is append-only: landing a file with a new content under the same name for the
same month adds a row that supersedes the earlier one, whose object stays. Landing identical bytes
again adds nothing. A quality gate that refuses a version appends a ``quarantined`` row for it: that
version stops being current, the file name falls back to its previously accepted version (if any),
and the month's other files are unaffected.

Each version also records its **release**: the day its publisher released it (``released_on``) and
how that day is known (``release_date_basis``): ``publisher`` (the publisher gives it), ``supplied``
(a day the user named in the month's ``release_dates.csv``) or ``landing`` (the day it was landed,
when nothing else says). Versions of a file name are ordered by release date (then by landing), so
an earlier release landed later (a backfill) takes its place in the history without replacing the
current version. Rows written before releases were recorded are dated by their landing.

The raw zone is the source of truth: the warehouse can always be rebuilt from it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from critmin.errors import PipelineError, printable

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

_CHUNK = 1 << 20
#: How much of the manifest's end is read to find where an unfinished last row starts.
_TAIL = 1 << 16
log = logging.getLogger(__name__)


class ManifestDamaged(PipelineError):
    """A line of ``raw/manifest.jsonl`` is not a manifest row: someone edited or damaged it."""


@dataclass(frozen=True)
class ManifestEntry:
    source: str  # e.g. "gacc/export"
    month: str  # data month, "YYYY-MM"
    original_name: str
    sha256: str
    rows: int
    size_bytes: int
    landed_at: str  # ISO 8601, UTC
    object_path: str  # relative to the raw zone
    sequence: int  # 1, 2, 3...: the order of landing, exact where landed_at ties
    status: str = "landed"  # or "quarantined"
    released_on: str | None = None  # "YYYY-MM-DD"; None in rows from before releases were recorded
    release_date_basis: str | None = None  # "publisher", "supplied" or "landing"

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @property
    def release_date(self) -> date:
        """The day this version was released (its landing day when no other is recorded)."""
        return date.fromisoformat(self.released_on or self.landed_at[:10])

    @property
    def date_basis(self) -> str:
        return self.release_date_basis or "landing"

    @property
    def release_order(self) -> tuple[date, int]:
        """Versions in the order their publisher released them; landing order on the same day."""
        return (self.release_date, self.sequence)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class RawZone:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self.manifest_path = root / "manifest.jsonl"

    def object_path(self, sha256: str, suffix: str) -> Path:
        return self.objects / sha256[:2] / f"{sha256}{suffix.lower()}"

    def store(self, source_file: Path, sha256: str) -> Path:
        """Copy a file in under its hash (once); the copy is made read-only."""
        target = self.object_path(sha256, source_file.suffix)
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        try:
            shutil.copyfile(source_file, partial)
        except BaseException:  # a full disk, a kill signal: no half copy stays behind
            partial.unlink(missing_ok=True)
            raise
        if sha256_of(partial) != sha256:
            partial.unlink()
            raise OSError(f"{source_file} changed while it was being copied; land it again")
        partial.chmod(0o444)
        os.replace(partial, target)
        return target

    @contextmanager
    def locked_manifest(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".manifest.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def entries(self) -> list[ManifestEntry]:
        """Every row of the manifest. A last line with no newline is a row whose writing was
        stopped (a kill, a full disk): it was never recorded, and is left out. Any other line
        that is not a manifest row stops everything with ``ManifestDamaged``."""
        if not self.manifest_path.exists():
            return []
        lines = self.manifest_path.read_bytes().split(b"\n")
        if lines[-1].strip():
            log.warning(
                "%s: its last line was never finished (%d bytes), left out",
                self.manifest_path,
                len(lines[-1]),
            )
        entries = []
        for number, line in enumerate(lines[:-1], start=1):
            if line.strip():
                entries.append(self._parse(line, number))
        return entries

    def _parse(self, line: bytes, number: int) -> ManifestEntry:
        try:
            fields = json.loads(line.decode("utf-8"))
            if not isinstance(fields, dict):
                raise TypeError("not a JSON object")
            return ManifestEntry(**fields)
        except (ValueError, TypeError) as error:
            text = line.decode("utf-8", errors="replace")
            shown = printable(text[:120]) + ("..." if len(text) > 120 else "")
            raise ManifestDamaged(
                f"{self.manifest_path}, line {number}, is not a row of the raw zone's manifest ({error}): "
                f"{shown}\n  The manifest records every landed file, one JSON object a line; this line "
                "was edited or damaged. Put it back as it was, or restore raw/manifest.jsonl from a "
                "backup (`make backup` keeps one). The landed files themselves are intact under "
                f"{self.root / 'objects'}. Nothing was landed, loaded or published."
            ) from None

    def _finish_torn_row(self) -> None:
        """Before a row is appended: a last line left unfinished by a stopped write is moved aside
        (kept, never lost) so the new row starts on its own line."""
        if not self.manifest_path.exists():
            return
        with self.manifest_path.open("rb+") as handle:
            size = handle.seek(0, os.SEEK_END)
            if size == 0:
                return
            handle.seek(size - 1)
            if handle.read(1) == b"\n":
                return
            tail_start = max(0, size - _TAIL)  # a row is well under a kilobyte: read the end only
            handle.seek(tail_start)
            tail = handle.read()
            start = tail_start + tail.rfind(b"\n") + 1 if b"\n" in tail else 0
            handle.seek(start)
            aside = self.root / f"manifest.unfinished-row.{datetime.now(UTC):%Y%m%dT%H%M%S%f}"
            aside.write_bytes(handle.read())
            handle.truncate(start)
            handle.flush()
            os.fsync(handle.fileno())
        log.warning("%s: an unfinished last row was moved to %s", self.manifest_path, aside)

    def _versions(
        self, source: str, month: str, entries: list[ManifestEntry] | None = None
    ) -> dict[str, list[ManifestEntry]]:
        """Each file name's accepted versions, in landing order: landed, and not refused since."""
        versions: dict[str, list[ManifestEntry]] = {}
        for entry in self.entries() if entries is None else entries:
            if entry.source != source or entry.month != month:
                continue
            kept = versions.setdefault(entry.original_name, [])
            if entry.status == "quarantined":
                kept[:] = [e for e in kept if e.sha256 != entry.sha256]
            else:
                kept.append(entry)
        return versions

    def current(self, source: str, month: str) -> list[ManifestEntry]:
        """The month's current files: the latest released accepted version of each file name.

        A version a gate refused (quarantined) stops being current, and its name falls back to
        the version accepted before it, if any: a refused correction never loses accepted data.
        """
        versions = self._versions(source, month)
        return [
            max(versions[name], key=lambda e: e.release_order) for name in sorted(versions) if versions[name]
        ]

    def accepted(self, source: str, month: str) -> list[ManifestEntry]:
        """Every accepted version of the month's files (the current ones and the releases they
        superseded), by file name and release order."""
        versions = self._versions(source, month)
        return [e for name in sorted(versions) for e in sorted(versions[name], key=lambda e: e.release_order)]

    def latest_release(self, source: str, month: str, other_than: str | None = None) -> ManifestEntry | None:
        """The month's accepted version released last (of any file name), leaving out the bytes
        ``other_than``."""
        versions = [e for e in self.accepted(source, month) if e.sha256 != other_than]
        return max(versions, key=lambda e: e.release_order) if versions else None

    def refused_corrections(self, source: str, month: str) -> list[tuple[ManifestEntry, ManifestEntry]]:
        """(refused, kept) for every file name whose latest version was refused while an earlier
        accepted version is still current."""
        latest: dict[str, ManifestEntry] = {}
        for entry in self.entries():
            if entry.source == source and entry.month == month:
                latest[entry.original_name] = entry
        current = {entry.original_name: entry for entry in self.current(source, month)}
        return [
            (entry, current[name])
            for name, entry in sorted(latest.items())
            if entry.status == "quarantined" and name in current
        ]

    def record(
        self,
        source: str,
        month: str,
        original_name: str,
        sha256: str,
        rows: int,
        stored: Path,
        status: str = "landed",
        released_on: date | None = None,
        release_date_basis: str | None = None,
    ) -> tuple[ManifestEntry, bool]:
        """Add a manifest row unless this exact content is already recorded so.

        Bytes already accepted under this name (the current version or an earlier release) are
        the same release landed again: no row. Landing bytes that were quarantined before adds a
        new ``landed`` row: the gate sees them again and decides again. A new row is released on
        ``released_on`` (``release_date_basis`` says how that is known), or on its landing day.
        Returns the entry and whether a row was added.
        """
        with self.locked_manifest():
            entries = self.entries()
            if status == "landed":
                for entry in self._versions(source, month, entries).get(original_name, []):
                    if entry.sha256 == sha256:
                        return entry, False
            else:
                for entry in reversed(entries):
                    if (entry.source, entry.month, entry.original_name) == (source, month, original_name):
                        if entry.sha256 == sha256 and entry.status == status:
                            return entry, False
                        break
            now = datetime.now(UTC)
            entry = ManifestEntry(
                source=source,
                month=month,
                original_name=original_name,
                sha256=sha256,
                rows=rows,
                size_bytes=stored.stat().st_size,
                landed_at=now.isoformat(timespec="seconds"),
                object_path=stored.relative_to(self.root).as_posix(),
                sequence=len(entries) + 1,
                status=status,
                released_on=(released_on or now.date()).isoformat(),
                release_date_basis=release_date_basis if released_on else "landing",
            )
            self._finish_torn_row()
            with self.manifest_path.open("a", encoding="utf-8") as handle:
                handle.write(entry.to_json() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            return entry, True


def to_load(zone: RawZone, source: str, month: object) -> list[tuple[ManifestEntry, str]]:
    """The month's file versions a load loads, each once (the current ones first), with the name
    its gate results go under: the file name, and for an earlier release also its date."""
    current = {entry.sha256 for entry in zone.current(source, str(month))}
    seen: set[str] = set()
    versions = []
    for entry in sorted(zone.accepted(source, str(month)), key=lambda e: e.sha256 not in current):
        if entry.sha256 in seen:
            continue
        seen.add(entry.sha256)
        batch = (
            entry.original_name
            if entry.sha256 in current
            else f"{entry.original_name} (released {entry.release_date})"
        )
        versions.append((entry, batch))
    return versions
