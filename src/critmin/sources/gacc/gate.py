"""The customs quality gates: what each suite validates for a month of GACC downloads.

- landing: what landing found, file by file (``gacc_export_files``), so even a month refused before
  any row could be read is in the Data Docs;
- raw: each download's rows (``gacc_export_rows``, read from its parse), before anything is loaded;
- marts: after dbt builds, the reconciliation of the month's mart rows with the raw rows
  (``fct_magnet_exports_monthly``) and the partners against the world total
  (``gacc_export_month``), read from the dbt audit models, before anything is published.

This module only builds the frames and says which files a failure implicates; running the suites,
quarantining and the message are the gate framework's (``critmin.quality.gate``).
"""

from __future__ import annotations

import logging
import os
import tempfile
from typing import TYPE_CHECKING, Any

from critmin.quality import gate
from critmin.quality.results import as_dicts
from critmin.raw_zone import RawZone, to_load
from critmin.sources.gacc import SOURCE, WHAT_TO_DO, parsed
from critmin.sources.gacc.frames import file_table
from critmin.sources.gacc.scan import FOLDER_PREFIX, SCAN_FOLDER, SCRATCH_MEMORY
from critmin.sources.landing import kept_note
from critmin.warehouse import query_frame

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    import pandas as pd

    from critmin.months import Month
    from critmin.quality.results import CheckResult
    from critmin.raw_zone import ManifestEntry
    from critmin.settings import Settings

log = logging.getLogger(__name__)

FILES_DATASET = "gacc_export_files"
RAW_DATASET = "gacc_export_rows"
MONTH_DATASET = "gacc_export_month"
MART_DATASET = "fct_magnet_exports_monthly"
RECONCILIATION_MODEL = "audit.audit_magnet_exports_reconciled"
PARTNER_SUMS_MODEL = "audit.audit_customs_partner_sums"
#: Columns that help a suite but say nothing to a person reading an offending row.
HIDDEN_IN_ROWS = frozenset(
    {
        "run_month",
        "duplicate_key",
        "commodity_name",
        "file_data_rows",
        "events_near",
        "partner_name_unlisted",
        "partner_code_known",
    }
)


def _run(settings: Settings, frame: pd.DataFrame, dataset: str, batch: str, month: Month, index) -> list:
    return gate.run_suite(
        settings, frame, dataset, batch=batch, run_name=f"customs_monthly {month}", index_columns=index
    )


def _run_in_database(
    settings: Settings, rows_file: parsed.ParsedFile, name: str, batch: str, month: Month
) -> list:
    """The raw suite over one download's rows, in DuckDB (no frame of the rows in Python)."""
    import duckdb

    workdir = settings.paths.home / SCAN_FOLDER
    workdir.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix=f"{FOLDER_PREFIX}{os.getpid()}-", dir=workdir) as spill,
        duckdb.connect(config={"memory_limit": SCRATCH_MEMORY, "temp_directory": spill}) as connection,
    ):
        table = file_table(connection, settings, rows_file, name, month)
        return gate.run_suite_in_table(
            settings,
            connection,
            table,
            RAW_DATASET,
            batch=batch,
            run_name=f"customs_monthly {month}",
            index_columns=("source_line",),
        )


# --- landing --------------------------------------------------------------------------------------


def record_landing(settings: Settings, month: Month, checked: list[dict[str, Any]]) -> Path:
    """Validate what landing found (readable or refused, and why); returns the Data Docs index."""
    import pandas as pd

    columns = ["source_file", "sha256", "data_rows", "refused_rule", "refused_because"]
    frame = pd.DataFrame(checked, columns=columns)
    frame.insert(0, "run_month", str(month))
    for result in _run(settings, frame, FILES_DATASET, str(month), month, ("source_file",)):
        if not result.success:
            log.warning("%s %s: %s — %s", month, result.rule, result.description, result.observed_value)
    docs = settings.paths.quality_docs_index
    log.info("landing checks of %s recorded. Data Docs: %s", month, docs.as_uri())
    return docs


# --- raw gate -------------------------------------------------------------------------------------


def gate_raw(settings: Settings, month: Month) -> list[dict[str, Any]]:
    """Validate each download of the month the load will load (every accepted version: the current
    ones and the earlier releases in the month's history); quarantine and fail on a critical
    failure. Returns every result (warnings included), for the load to record.
    """
    paths = settings.paths
    entries = to_load(RawZone(paths.raw), SOURCE, month)
    results: list[CheckResult] = []
    failing: list[tuple[ManifestEntry, list[CheckResult]]] = []
    for entry, batch in entries:
        rows_file = parsed.opened(paths.raw / entry.object_path, paths.home / SCAN_FOLDER)
        file_results = _run_in_database(settings, rows_file, entry.original_name, batch, month)
        results.extend(file_results)
        if critical := gate.critical(file_results):
            failing.append((entry, critical))
    gate.log_warnings(results, str(month), HIDDEN_IN_ROWS)
    if failing:
        _quarantine_and_fail(settings, month, failing, "raw")
    gate.passed(settings, f"{month} ({len(entries)} files)", results, "raw")
    return as_dicts(results)


# --- mart gate ------------------------------------------------------------------------------------


def _audit_frame(settings: Settings, model: str, month: Month) -> pd.DataFrame:
    frame = query_frame(
        settings.paths.warehouse_db,
        f"select * exclude (month) from {model} where month = ? order by all",
        [month.first_day],
    )
    frame.insert(0, "run_month", str(month))
    return frame


def _implicated_shas(results: Sequence[CheckResult], column: str) -> set[str]:
    return {
        sha
        for result in results
        for row in result.offending_rows
        for sha in str(row.get(column) or "").split(",")
        if sha
    }


def gate_marts(settings: Settings, month: Month) -> list[dict[str, Any]]:
    """Reconcile the month's mart rows with the raw rows, and the partners with the world total.

    Raises ``QualityGateError`` on a critical failure, quarantining the files it implicates.
    """
    reconciled = _audit_frame(settings, RECONCILIATION_MODEL, month)
    sums = _audit_frame(settings, PARTNER_SUMS_MODEL, month)
    mart_results = _run(settings, reconciled, MART_DATASET, str(month), month, ("hs8_code", "partner_code"))
    month_results = _run(settings, sums, MONTH_DATASET, str(month), month, ("hs8_code",))
    results = mart_results + month_results
    gate.log_warnings(results, str(month), HIDDEN_IN_ROWS)
    critical = gate.critical(results)
    if critical:
        shas = _implicated_shas(gate.critical(mart_results), "source_file_sha256")
        shas |= _implicated_shas(gate.critical(month_results), "partner_file_sha256s")
        current = RawZone(settings.paths.raw).current(SOURCE, str(month))
        implicated = [e for e in current if e.sha256 in shas or not shas]
        failing = [(entry, critical) for entry in implicated]
        _quarantine_and_fail(settings, month, failing, "mart")
    gate.passed(settings, str(month), results, "mart")
    return as_dicts(results)


# --- shared ---------------------------------------------------------------------------------------


def _quarantine_and_fail(
    settings: Settings, month: Month, failing: list[tuple[ManifestEntry, list[CheckResult]]], which: str
) -> None:
    paths = settings.paths
    zone = RawZone(paths.raw)

    def mark_quarantined(item: gate.Implicated) -> str | None:
        entry = by_sha[item.sha256 or ""]
        zone.record(
            SOURCE,
            str(month),
            entry.original_name,
            entry.sha256,
            entry.rows,
            paths.raw / entry.object_path,
            status="quarantined",
        )
        kept = [e for e in zone.current(SOURCE, str(month)) if e.original_name == entry.original_name]
        return kept_note(kept[0]) if kept else None

    by_sha = {entry.sha256: entry for entry, _ in failing}
    gate.quarantine_and_fail(
        settings,
        source=SOURCE,
        month=month,
        gate=which,
        implicated=[
            gate.Implicated(
                original_name=entry.original_name,
                sha256=entry.sha256,
                landing_file=paths.landing_dir(SOURCE, month) / entry.original_name,
                raw_object=paths.raw / entry.object_path,
                failures=failures,
            )
            for entry, failures in failing
        ],
        what_to_do=WHAT_TO_DO.format(month=month),
        on_quarantine=mark_quarantined,
        hidden=HIDDEN_IN_ROWS,
    )
