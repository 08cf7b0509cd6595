"""Errors a data engineer reads: each names the file, the row or rule, and what to do next."""

from __future__ import annotations

from pathlib import Path


class CritminError(Exception):
    """Base class for every error critmin raises on purpose."""


class InputError(CritminError):
    """A landed file cannot be accepted as it is.

    The message names the file, where in it the problem is (line and column when known), what is
    wrong, and what to do about it. The file itself is never deleted.
    """

    def __init__(
        self,
        path: Path | str,
        problem: str,
        *,
        line: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.problem = problem
        self.line = line
        self.column = column
        self.hint = hint
        where = str(self.path)
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        message = f"{where}: {problem}"
        if hint:
            message += f"\n  What to do: {hint}"
        super().__init__(message)


class PipelineError(CritminError):
    """A pipeline step failed for a reason other than a bad input file."""
