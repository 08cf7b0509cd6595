"""The raw zone: an immutable, content-addressed copy of every landed file, and its manifest.

Every landed file, good or bad, is stored once under ``raw/objects/<sha[:2]>/<sha256><suffix>``
(read-only), and the manifest ``raw/manifest.jsonl`` gets one row per landed version: source, data
month, original file name, sha256, data rows, size, landed time, sequence and status. The manifest is
append-only: landing a file with a new content under the same name for the same month adds a row
that supersedes the earlier one, whose object stays. Landing identical bytes again adds nothing.
A quality gate that refuses a version appends a ``quarantined`` row for it: that version stops
being current, the file name falls back to its previously accepted version (if any), and the
month's other files are unaffected.

The raw zone is the source of truth: the warehouse can always be rebuilt from it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

_CHUNK = 1 << 20


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

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)


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
        shutil.copyfile(source_file, partial)
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
        if not self.manifest_path.exists():
            return []
        with self.manifest_path.open(encoding="utf-8") as handle:
            return [ManifestEntry(**json.loads(line)) for line in handle if line.strip()]

    def _versions(self, source: str, month: str) -> dict[str, list[ManifestEntry]]:
        """Each file name's accepted versions, oldest first: landed, and not refused since."""
        versions: dict[str, list[ManifestEntry]] = {}
        for entry in self.entries():
            if entry.source != source or entry.month != month:
                continue
            kept = versions.setdefault(entry.original_name, [])
            if entry.status == "quarantined":
                kept[:] = [e for e in kept if e.sha256 != entry.sha256]
            else:
                kept.append(entry)
        return versions

    def current(self, source: str, month: str) -> list[ManifestEntry]:
        """The month's current files: the latest accepted version of each file name.

        A version a gate refused (quarantined) stops being current, and its name falls back to
        the version accepted before it, if any: a refused correction never loses accepted data.
        """
        versions = self._versions(source, month)
        return [versions[name][-1] for name in sorted(versions) if versions[name]]

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
    ) -> tuple[ManifestEntry, bool]:
        """Add a manifest row unless this exact content already has this status as latest version.

        Landing bytes that were quarantined before adds a new ``landed`` row: the gate sees them
        again and decides again. Returns the entry and whether a row was added.
        """
        with self.locked_manifest():
            entries = self.entries()
            for entry in reversed(entries):
                if (entry.source, entry.month, entry.original_name) == (
                    source,
                    month,
                    original_name,
                ):
                    if entry.sha256 == sha256 and entry.status == status:
                        return entry, False
                    break
            entry = ManifestEntry(
                source=source,
                month=month,
                original_name=original_name,
                sha256=sha256,
                rows=rows,
                size_bytes=stored.stat().st_size,
                landed_at=datetime.now(UTC).isoformat(timespec="seconds"),
                object_path=stored.relative_to(self.root).as_posix(),
                sequence=len(entries) + 1,
                status=status,
            )
            with self.manifest_path.open("a", encoding="utf-8") as handle:
                handle.write(entry.to_json() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            return entry, True
