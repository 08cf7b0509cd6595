"""Files a reader may open at any moment: written beside their place, then renamed into it.

A rename within a folder is atomic, so a reader sees the old file or the new one, never half of
one; the fsync of the data and then of the folder makes the new file survive a crash once the
rename is done. The serving file, the briefs and the docs sites are written this way.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def fsync_dir(folder: Path) -> None:
    """Make the renames in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _staged(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.partial")


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` beside ``path``, fsync it, rename it over ``path`` and fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = _staged(path)
    try:
        with staged.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(staged, path)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def file_identity(path: Path) -> str | None:
    """Which file ``path`` is now (``device:inode``), or None if there is none: a rename keeps it,
    so a staged file's identity is the identity of the file it was renamed to."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return f"{stat.st_dev}:{stat.st_ino}"
