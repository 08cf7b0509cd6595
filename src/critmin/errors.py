"""Errors a data engineer reads: each names the file, the row or rule, and what to do next."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path


def printable(text: object) -> str:
    """``text`` for a log line or a message: control characters (a newline in a file name) are
    escaped, so a name never splits a line or moves the cursor; everything else is kept."""
    value = str(text)
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in value)


class CritminError(Exception):
    """Base class for every error critmin raises on purpose."""


class InputError(CritminError):
    """A landed file cannot be accepted as it is.

    The message names the file, where in it the problem is (line and column when known), what is
    wrong, the rule it breaks, and what to do about it. The file itself is never deleted.
    """

    def __init__(
        self,
        path: Path | str,
        problem: str,
        *,
        line: int | None = None,
        column: str | None = None,
        hint: str | None = None,
        rule: str = "file_is_a_gacc_download",
    ) -> None:
        self.path = Path(path)
        self.rule = rule
        self.problem = problem
        self.line = line
        self.column = column
        self.hint = hint
        where = printable(self.path)
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        message = f"{where}: {problem} [rule {rule}]"
        if hint:
            message += f"\n  What to do: {hint}"
        super().__init__(message)


class WaitedInVain(InputError):
    """A scheduled run waited for its month's files until its deadline, and none were landed: the
    run stops waiting (an Airflow sensor timeout, not retried)."""


class PipelineError(CritminError):
    """A pipeline step failed for a reason other than a bad input file."""


class DiskFull(PipelineError):
    """A step ran out of disk space; the run fails and publishes nothing."""


#: Below this much free space, an I/O error on the home's disk is taken for the disk being full
#: (SQLite says only "disk I/O error" when it cannot grow its write-ahead log).
NEARLY_FULL_BYTES = 16 * 2**20


def is_disk_full(error: BaseException, home: Path | None = None) -> bool:
    """Whether ``error`` says the disk is full: Python's ENOSPC, DuckDB's or SQLite's words for it,
    or (given ``home``) an I/O error (EIO, SQLite's "disk I/O error") while the disk holding
    ``home`` has next to no space left."""
    text = str(error)
    if getattr(error, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or any(
        words in text for words in ("No space left on device", "database or disk is full")
    ):
        return True
    if home is None or not (getattr(error, "errno", None) == errno.EIO or "I/O error" in text):
        return False
    try:
        return free_bytes(home) < NEARLY_FULL_BYTES
    except OSError:
        return False


def free_bytes(path: Path) -> int:
    """Free space on the disk holding ``path`` (or its nearest existing parent)."""
    while not path.exists() and path.parent != path:
        path = path.parent
    return shutil.disk_usage(path).free


def disk_full_message(error: BaseException, home: Path) -> str:
    """What a command says when a disk filled up under it: the one holding the file the error names
    (a backup's destination, say), else the one holding ``home``."""
    named = getattr(error, "filename", None)
    where = Path(named) if isinstance(named, str) and named else home
    try:
        free = f"{free_bytes(where) / 2**20:.1f} MiB free"
    except OSError:
        free = "free space unknown"
    disk = f"CRITMIN_HOME ({home})" if where == home else str(where)
    return (
        f"the disk holding {disk} is full ({free}): {type(error).__name__}: {error}\n"
        "  What to do: free space on that disk, then run the command again. What users see is "
        "unchanged: serving.duckdb is only ever replaced whole, and a load left unfinished is put back "
        "by the next run (`critmin warehouse status` shows it)."
    )


class ConfigurationError(CritminError, ValueError):
    """The deployment is wrong (a suite missing or invalid, a folder absent): retrying cannot help."""


def failure_of_input_error(error: InputError) -> dict[str, object]:
    """An input error as one failed rule of a quarantine report."""
    return {
        "rule": error.rule,
        "severity": "critical",
        "description": error.problem,
        "line": error.line,
        "column": error.column,
        "what_to_do": error.hint,
    }


class QualityGateError(CritminError):
    """A month failed a critical data-quality rule: nothing of it was loaded or published."""

    @classmethod
    def from_input_errors(
        cls,
        month: str,
        source: str,
        errors: list[InputError],
        quarantine: Path,
        docs: Path | None = None,
        notes: list[str] | None = None,
    ) -> QualityGateError:
        folder = quarantine / source / month
        lines = [f"{source} {month}: {len(errors)} file(s) refused and moved to {folder}/"]
        for error in errors:
            lines.append(f"  - {error}".replace("\n", "\n    "))
        lines.extend(f"  {note}" for note in notes or ())
        if docs is not None:
            lines.append(f"  Data Docs: {docs.as_uri()}")
        lines.append("  Nothing was loaded for the month, and nothing of it was published.")
        return cls("\n".join(lines))
