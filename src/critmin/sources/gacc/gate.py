"""The customs quality gates: what each suite validates for a month of GACC downloads.

- landing: what landing found, file by file (``gacc_export_files``), so even a month refused before
  any row could be read is in the Data Docs;
- raw: each current download's rows (``gacc_export_rows``), before anything is loaded;
- marts: after dbt builds, the reconciliation of the month's mart rows with the raw rows
  (``fct_magnet_exports_monthly``) and the partners against the world total
  (``gacc_export_month``), read from the dbt audit models, before anything is published.

This module only builds the frames and says which files a failure implicates; running the suites,
quarantining and the message are the gate framework's (``critmin.quality.gate``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from critmin import codes
from critmin.quality import gate
from critmin.quality.results import as_dicts
from critmin.raw_zone import RawZone, to_load
from critmin.sources.gacc import SOURCE, WHAT_TO_DO
from critmin.sources.gacc.read import FIELDS, NUMERIC_FIELDS, iter_records, read_layout
from critmin.sources.gacc.scan import SCAN_FOLDER, scan
from critmin.sources.gacc.scan import TABLE as SCAN_TABLE
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
    from critmin.sources.gacc.read import GaccLayout
    from critmin.sources.gacc.scan import Scan

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


def file_frame(settings: Settings, raw_file: Path, original_name: str, month: Month) -> pd.DataFrame:
    """One download's rows as the raw suite's batch (see expectations/gacc_export_rows.json).

    Read by DuckDB when the fast path can (``scan``), else by the Python reader: the same frame.
    """
    layout = read_layout(raw_file)
    with scan(raw_file, layout, settings.paths.home / SCAN_FOLDER) as scanned:
        if scanned is not None and scanned.data_rows:
            return _scanned_frame(settings, scanned, original_name, month)
    return _read_frame(settings, raw_file, layout, original_name, month)


def _read_frame(
    settings: Settings, raw_file: Path, layout: GaccLayout, original_name: str, month: Month
) -> pd.DataFrame:
    """``file_frame`` through the Python reader, record by record."""
    import pandas as pd

    records = list(iter_records(raw_file, layout))
    known = codes.partner_codes(settings.seeds_dir)
    listed = codes.partner_names(settings.seeds_dir)
    columns: dict[str, list[Any]] = {
        "source_file": [original_name] * len(records),
        "source_line": [r.line_number for r in records],
        "run_month": [str(month)] * len(records),
        "file_data_rows": [len(records)] * len(records),
    }
    for field in FIELDS:
        if field in NUMERIC_FIELDS:
            columns[field] = [None if (v := getattr(r, field)) is None else float(v) for r in records]
        else:
            columns[field] = [getattr(r, field) for r in records]
    columns["duplicate_key"] = [
        "|".join(v or "" for v in (r.month, r.hs8_code, r.partner_code, r.regime_code, r.province_code))
        for r in records
    ]
    columns["partner_code_known"] = [
        (r.partner_code in known) if layout.has_partner else None for r in records
    ]
    columns["partner_name_unlisted"] = [
        None if r.partner_name in listed.get(r.partner_code or "", ()) else r.partner_name for r in records
    ]
    return pd.DataFrame(columns)


def _scanned_frame(settings: Settings, scanned: Scan, original_name: str, month: Month) -> pd.DataFrame:
    """``file_frame`` built column by column from DuckDB: the same values and dtypes as
    ``_read_frame`` (pandas infers them from the same Python values), without a Python object per
    record, and with each distinct text value held once."""
    import pandas as pd

    layout = scanned.layout
    listed = codes.partner_names(settings.seeds_dir)
    pairs = [(code, name) for code, names in listed.items() for name in names]
    connection = scanned.connection
    connection.execute(
        "create table gacc_listed as select unnest($codes) as code, unnest($names) as name",
        {"codes": [code for code, _ in pairs], "names": [name for _, name in pairs]},
    )
    values = {field: scanned.value_sql(field) for field in FIELDS}
    key = " || '|' || ".join(
        f"coalesce({values[field]}, '')"
        for field in ("month", "hs8_code", "partner_code", "regime_code", "province_code")
    )
    known = "coalesce(list_contains($known, partner_code), false)" if layout.has_partner else "null"
    connection.execute(
        f"""
        create table gacc_frame as
        with parsed as (
            select rowid + 1 as source_line, {", ".join(f"{v} as {f}" for f, v in values.items())},
                {key} as duplicate_key
            from {SCAN_TABLE}
        )
        select parsed.*, {known} as partner_code_known,
            case when listed.name is null then parsed.partner_name end as partner_name_unlisted
        from parsed left join (select distinct code, name from gacc_listed) as listed
            on listed.code = coalesce(parsed.partner_code, '') and listed.name = parsed.partner_name
        order by source_line
        """,
        {"known": sorted(codes.partner_codes(settings.seeds_dir))} if layout.has_partner else {},
    )

    def fetch(column: str) -> Any:
        sql = f"select {column} from gacc_frame order by source_line"
        return connection.execute(sql).fetchnumpy()[column]

    rows = scanned.data_rows
    columns: dict[str, Any] = {
        "source_file": [original_name] * rows,
        "source_line": fetch("source_line"),
        "run_month": [str(month)] * rows,
        "file_data_rows": [rows] * rows,
    }
    for field in FIELDS:
        if field not in layout.fields:
            columns[field] = [None] * rows
        elif field in NUMERIC_FIELDS:
            columns[field] = _numbers(fetch(field))
        else:
            columns[field] = _texts(fetch(field), shared=True)
    columns["duplicate_key"] = _texts(fetch("duplicate_key"), shared=False)
    columns["partner_code_known"] = fetch("partner_code_known") if layout.has_partner else [None] * rows
    columns["partner_name_unlisted"] = _texts(fetch("partner_name_unlisted"), shared=True)
    return pd.DataFrame(columns)


def _numbers(array: Any) -> Any:
    """Floats with NaN for NULL, as pandas makes of floats and ``None``; all ``None`` if all NULL."""
    import numpy as np

    mask = np.ma.getmaskarray(array)
    if mask.all():
        return [None] * len(array)
    return np.where(mask, np.nan, np.ma.getdata(array))


def _texts(array: Any, *, shared: bool) -> list[str | None]:
    """Python strings with ``None`` for NULL; ``shared``: one object per distinct value."""
    import numpy as np

    values = np.ma.getdata(array).astype(object)
    values[np.ma.getmaskarray(array)] = None
    texts: list[str | None] = values.tolist()
    if shared:
        distinct: dict[str | None, str | None] = {}
        texts = [distinct.setdefault(text, text) for text in texts]
    return texts


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
        frame = file_frame(settings, paths.raw / entry.object_path, entry.original_name, month)
        file_results = _run(settings, frame, RAW_DATASET, batch, month, ("source_line",))
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
