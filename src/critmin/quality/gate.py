"""The gate framework every source uses: run its suites, split critical from warning, quarantine
what failed with a report, and fail with a message that names the month, the file, each rule, what
was observed, a few offending rows and the Data Docs.

A source's gate only builds the frames its suites validate (``sources/<source>/gate.py``); the
suites themselves are files in ``expectations/``, one per dataset.
"""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from critmin.errors import NEARLY_FULL_BYTES, QualityGateError, free_bytes, is_disk_full, printable
from critmin.quality.quarantine import quarantine_file
from critmin.quality.results import as_dicts

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
    from pathlib import Path

    import duckdb
    import pandas as pd

    from critmin.quality.results import CheckResult
    from critmin.settings import Settings

log = logging.getLogger(__name__)

#: Offending rows shown per failed rule, in the log and in the message.
ROWS_SHOWN = 3


def run_suite(
    settings: Settings,
    frame: pd.DataFrame,
    dataset: str,
    *,
    batch: str,
    run_name: str,
    index_columns: Sequence[str],
) -> list[CheckResult]:
    """Validate ``frame`` with ``expectations/<dataset>.json``, in SQL (``sql_validation``); the
    run goes into the Data Docs."""
    from critmin.quality.sql_validation import validate_frame

    return validate_frame(frame, **_suite_options(settings, dataset, batch, run_name, index_columns))


def run_suite_in_table(
    settings: Settings,
    connection: duckdb.DuckDBPyConnection,
    table: str,
    dataset: str,
    *,
    batch: str,
    run_name: str,
    index_columns: Sequence[str],
) -> list[CheckResult]:
    """``run_suite`` for rows in a DuckDB table, validated in SQL (``sql_validation``)."""
    from critmin.quality.sql_validation import validate_table

    return validate_table(
        connection, table, **_suite_options(settings, dataset, batch, run_name, index_columns)
    )


def _suite_options(
    settings: Settings, dataset: str, batch: str, run_name: str, index_columns: Sequence[str]
) -> dict[str, Any]:
    """The suite file, the Data Docs and GX state of the home, and the pages left to the run's
    render (``publish_docs``)."""
    return {
        "suite_path": settings.expectations_dir / f"{dataset}.json",
        "dataset": dataset,
        "batch": batch,
        "docs_dir": settings.paths.quality_docs,
        "index_columns": index_columns,
        "run_name": run_name,
        "gx_dir": settings.paths.gx_state,
        "render_docs": False,
    }


#: How many ``deferred_docs`` blocks are open in this process: while any is, a run's teardown
#: leaves its Data Docs pages to the block's end.
_docs_deferred = 0


def publish_docs(settings: Settings, *, teardown: bool = False) -> int:
    """Render the Data Docs pages of the validations run since the last render: once per run (at
    a refusal, before the error is raised, and in the run's ``teardown``), never once per
    validation; a teardown inside ``deferred_docs`` leaves them to the block's end. What is not
    rendered stays pending on disk, so a process killed first leaves them to the next render."""
    from critmin.quality.validation import render_pending_docs

    if teardown and _docs_deferred:
        return 0
    return render_pending_docs(settings.paths.quality_docs, settings.paths.gx_state)


@contextmanager
def deferred_docs(settings: Settings) -> Iterator[None]:
    """Many DAG runs in this process (the demo, a backfill): one Data Docs render at the end
    instead of one per run. A refusal still renders at once."""
    global _docs_deferred
    _docs_deferred += 1
    try:
        yield
    except BaseException as error:
        _docs_deferred -= 1
        if not _docs_deferred and not is_disk_full(error, settings.paths.home) and _room_for_docs(settings):
            publish_docs(settings)
        raise
    _docs_deferred -= 1
    if not _docs_deferred and _room_for_docs(settings):
        publish_docs(settings)


def _room_for_docs(settings: Settings) -> bool:
    """Whether the disk has room to render Data Docs. On a full one the render would fail too and
    bury the runs' own error under its own; the pages stay pending for the next run's render."""
    try:
        free = free_bytes(settings.paths.home)
    except OSError:
        return True
    if free >= NEARLY_FULL_BYTES:
        return True
    log.warning(
        "Data Docs not rendered: %.1f MiB free on the disk holding %s", free / 2**20, settings.paths.home
    )
    return False


def critical(results: Iterable[CheckResult]) -> list[CheckResult]:
    return [r for r in results if r.is_critical_failure]


def describe_row(row: dict[str, Any], hidden: Collection[str] = ()) -> str:
    """An offending row in one line: its non-empty columns, up to nine."""
    shown = {k: v for k, v in row.items() if v is not None and k not in hidden}
    return ", ".join(f"{k}={printable(v)}" for k, v in list(shown.items())[:9])


def log_warnings(results: Iterable[CheckResult], label: str, hidden: Collection[str] = ()) -> None:
    """Log every failed warning rule with a few offending rows, and the export-control events
    named beside them (a frame's ``events_near`` column)."""
    for result in results:
        if not result.is_warning:
            continue
        log.warning(
            "%s %s [%s] warning %s: %s — %s",
            label,
            result.dataset,
            result.batch,
            result.rule,
            result.description,
            result.observed_value,
        )
        for row in result.offending_rows[:ROWS_SHOWN]:
            log.warning("    %s", describe_row(row, hidden))
        events = {row["events_near"] for row in result.offending_rows if row.get("events_near")}
        for line in sorted(events):
            log.warning("    export-control events near %s: %s", label, line)


def failure_lines(failures: Iterable[CheckResult], hidden: Collection[str] = ()) -> list[str]:
    lines = []
    for failure in failures:
        lines.append(
            f"      {failure.rule} [{failure.severity}, {failure.expectation}]: "
            f"{failure.description} Observed: {failure.observed_value}"
        )
        for row in failure.offending_rows[:ROWS_SHOWN]:
            lines.append(f"        {describe_row(row, hidden)}")
    return lines


@dataclass(frozen=True)
class Implicated:
    """A landed file that a critical rule implicates, with the rules it failed."""

    original_name: str
    sha256: str | None
    landing_file: Path | None
    raw_object: Path | None
    failures: Sequence[CheckResult]


def quarantine_and_fail(
    settings: Settings,
    *,
    source: str,
    month: object,
    gate: str,
    implicated: Sequence[Implicated],
    what_to_do: str,
    on_quarantine: Callable[[Implicated], str | None],
    hidden: Collection[str] = (),
) -> NoReturn:
    """Quarantine every implicated file with its report, then raise ``QualityGateError``.

    ``on_quarantine`` lets the source record the refusal (for example in the raw zone's manifest)
    before the file is moved; what it returns (what the month keeps instead, say) is added to the
    message.
    """
    paths = settings.paths
    lines = [
        f"{source} {month}: the {gate} quality gate failed; "
        f"{len(implicated)} file(s) moved to {paths.quarantine / source / str(month)}/"
    ]
    notes = []
    for item in implicated:
        if note := on_quarantine(item):
            notes.append(note)
        report = quarantine_file(
            paths,
            source=source,
            month=month,
            original_name=item.original_name,
            sha256=item.sha256,
            landing_file=item.landing_file,
            raw_object=item.raw_object,
            failures=as_dicts(item.failures),
            what_to_do=what_to_do,
        )
        lines.append(f"  - {printable(item.original_name)} (report: {report})")
        lines.extend(failure_lines(item.failures, hidden))
    lines.extend(f"  {note}" for note in notes)
    lines.append(f"  Data Docs: {paths.quality_docs_index.as_uri()}")
    lines.append(f"  Nothing of {month} was published.")
    publish_docs(settings)
    raise QualityGateError("\n".join(lines))


def write_report(folder: Path, failures: list[dict[str, Any]], **context: Any) -> Path:
    """A ``report.json`` for input that stays where it is (files in git are never moved)."""
    folder.mkdir(parents=True, exist_ok=True)
    report = folder / "report.json"
    report.write_text(
        json.dumps({**context, "failed_rules": failures}, indent=2, default=str, ensure_ascii=False),
        encoding="utf-8",
    )
    return report


def passed(settings: Settings, label: str, results: Sequence[CheckResult], what: str) -> None:
    log.info(
        "%s gate passed for %s: %d checks. Data Docs: %s",
        what,
        label,
        len(results),
        settings.paths.quality_docs_index.as_uri(),
    )
