"""Errors a data engineer reads: each names the file, the row or rule, and what to do next."""

from __future__ import annotations

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
