"""Validate one batch (a pandas DataFrame) against a versioned Great Expectations suite.

A suite is a JSON file under ``expectations/`` (see ``load_suite``). Every expectation in it
carries ``meta.rule`` (a stable snake_case name), ``meta.severity`` (``critical`` or ``warning``)
and ``meta.description`` (one sentence). ``validate`` runs the suite through GX Core 1.x (pandas
data source, dataframe asset, whole-dataframe batch definition, one ValidationDefinition per
(batch, suite), a Checkpoint whose action updates Data Docs) and returns one ``CheckResult`` per
expectation, with up to five offending rows of the batch.

GX state lives outside the repository: validation results and suites are kept under ``gx_dir``
(default ``docs_dir.parent.parent / "gx"``, i.e. ``$CRITMIN_HOME/gx`` for
``docs_dir = $CRITMIN_HOME/docs/quality``), the static Data Docs site under ``docs_dir``. The
context itself is ephemeral (no ``great_expectations.yml``): it is rebuilt from code on every call,
with file-backed stores for suites and results, so the site index lists every validation so far,
and only the new validation page, the suite page and the index are rendered per call.

Great Expectations is imported inside functions only: this module is imported by Airflow DAG
files, and importing GX takes seconds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import math
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import great_expectations as gx
    import pandas

SEVERITIES = ("critical", "warning")
REQUIRED_META = ("rule", "severity", "description")
MAX_OFFENDING_ROWS = 5
#: How many unexpected values/rows GX keeps per expectation (in results and in Data Docs).
PARTIAL_UNEXPECTED_COUNT = 20
MAX_VALUES_SHOWN = 5
DOCS_SITE_NAME = "critmin_quality"

_RULE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_UNSAFE_NAME_CHARS = re.compile(r"[^\w.\-]+")
_THREAD_LOCK = threading.Lock()


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one expectation (one rule) on one batch."""

    dataset: str
    batch: str
    rule: str
    expectation: str
    severity: str
    description: str
    success: bool
    observed_value: str
    unexpected_count: int | None
    offending_rows: tuple[dict, ...]


def data_docs_index(docs_dir: Path) -> Path:
    """The Data Docs site's entry page."""
    return Path(docs_dir) / "index.html"


def load_suite(path: Path) -> gx.ExpectationSuite:
    """Read a suite JSON file (``name``, ``meta``, ``expectations``) into a GX ExpectationSuite.

    Raises ValueError, naming the file and the expectation, when an expectation lacks
    ``meta.rule``/``meta.severity``/``meta.description``, has a severity other than critical or
    warning, repeats a rule name, or is not a valid GX expectation. (GX's own ExpectationSuite
    constructor only logs and drops an invalid expectation; here it is an error.)
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read suite: {exc}") from exc
    if not isinstance(document, dict):
        raise ValueError(f"{path}: a suite file is a JSON object")
    name = document.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{path}: the suite has no 'name'")
    specs = document.get("expectations")
    if not isinstance(specs, list) or not specs:
        raise ValueError(f"{path}: the suite has no 'expectations' list")
    suite_meta = document.get("meta") or {}
    if not isinstance(suite_meta, dict):
        raise ValueError(f"{path}: the suite's 'meta' is not an object")

    _quiet_gx_logging()
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    expectations = []
    rules: set[str] = set()
    for number, spec in enumerate(specs, start=1):
        label = _describe_spec(number, spec)
        if not isinstance(spec, dict):
            raise ValueError(f"{path}: {label} is not a JSON object")
        unknown = set(spec) - {"type", "kwargs", "meta", "notes"}
        if unknown:
            raise ValueError(f"{path}: {label} has unknown keys {sorted(unknown)}")
        meta = spec.get("meta")
        if not isinstance(meta, dict):
            raise ValueError(f"{path}: {label} has no 'meta' object (rule, severity, description)")
        for key in REQUIRED_META:
            value = meta.get(key)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{path}: {label} has no meta.{key}")
        if not _RULE_NAME.match(meta["rule"]):
            raise ValueError(f"{path}: {label}: meta.rule must be snake_case")
        if meta["severity"] not in SEVERITIES:
            raise ValueError(
                f"{path}: {label}: meta.severity is {meta['severity']!r}, "
                f"expected one of {', '.join(SEVERITIES)}"
            )
        if meta["rule"] in rules:
            raise ValueError(f"{path}: {label}: rule {meta['rule']!r} appears twice")
        rules.add(meta["rule"])
        kwargs = spec.get("kwargs", {})
        if not isinstance(spec.get("type"), str) or not isinstance(kwargs, dict):
            raise ValueError(f"{path}: {label} needs a 'type' string and a 'kwargs' object")
        try:
            expectation = ExpectationConfiguration(
                type=spec["type"],
                kwargs=dict(kwargs),
                meta=dict(meta),
                # GX's own severity field mirrors meta.severity; notes show up in Data Docs.
                severity=meta["severity"],
                notes=spec.get("notes") or f"{meta['rule']} ({meta['severity']}): {meta['description']}",
            ).to_domain_obj()
        except Exception as exc:  # GX raises several exception types for a bad configuration
            raise ValueError(f"{path}: {label} is not a valid expectation: {exc}") from exc
        expectations.append(expectation)

    return gx.ExpectationSuite(name=name, expectations=expectations, meta=dict(suite_meta))


def validate(
    frame: pandas.DataFrame,
    suite_path: Path,
    *,
    dataset: str,
    batch: str,
    docs_dir: Path,
    index_columns: Sequence[str] = ("source_file", "source_line"),
    run_name: str | None = None,
    gx_dir: Path | None = None,
) -> list[CheckResult]:
    """Validate ``frame`` with the suite at ``suite_path``; one CheckResult per expectation.

    The validation is added to the Data Docs site under ``docs_dir`` (``index.html`` lists every
    validation kept in ``gx_dir``). ``index_columns`` identify a row (GX reports the failing rows
    by these columns); those missing from ``frame`` are ignored. ``run_name`` defaults to
    ``batch``.
    """
    suite = load_suite(suite_path)
    docs_dir = Path(docs_dir).expanduser().resolve()
    gx_dir = Path(gx_dir).expanduser().resolve() if gx_dir else docs_dir.parent.parent / "gx"
    present_index = [column for column in index_columns if column in frame.columns]
    if not present_index:
        # GX then reports pandas index labels: make them the row positions.
        frame = frame.reset_index(drop=True)

    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    gx_dir.mkdir(parents=True, exist_ok=True)
    docs_dir.mkdir(parents=True, exist_ok=True)
    result_format: dict[str, Any] = {
        "result_format": "SUMMARY",
        "partial_unexpected_count": PARTIAL_UNEXPECTED_COUNT,
    }
    if present_index:
        result_format["unexpected_index_column_names"] = present_index
    asset_name = _safe_name(batch)
    with _exclusive(gx_dir):
        context = _context(gx_dir, docs_dir)
        source = context.data_sources.add_or_update_pandas(name=_safe_name(dataset))
        asset = source.add_dataframe_asset(name=asset_name)
        batch_definition = asset.add_batch_definition_whole_dataframe("whole_dataframe")
        suite = context.suites.add_or_update(suite)
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=f"{suite.name}:{asset_name}", data=batch_definition, suite=suite)
        )
        checkpoint = context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=f"{suite.name}:{asset_name}",
                validation_definitions=[definition],
                actions=[
                    gx.checkpoint.UpdateDataDocsAction(name="update_data_docs", site_names=[DOCS_SITE_NAME])
                ],
                result_format=result_format,
            )
        )
        outcome = checkpoint.run(
            batch_parameters={"dataframe": frame},
            run_id=RunIdentifier(run_name=run_name or batch, run_time=dt.datetime.now(dt.UTC)),
        )
    (validation_result,) = outcome.run_results.values()

    rows = _RowFinder(frame, present_index)
    by_id = {r.expectation_config.id: r for r in validation_result.results}
    checks = []
    for expectation in suite.expectations:
        result = by_id[expectation.id]
        meta = expectation.meta or {}
        info = dict(result.result or {})
        error = _exception_message(result.exception_info)
        unexpected = info.get("unexpected_count")
        offending: tuple[dict, ...] = ()
        if error is None and unexpected:
            offending = rows.rows(info.get("partial_unexpected_index_list") or ())
        checks.append(
            CheckResult(
                dataset=dataset,
                batch=batch,
                rule=meta["rule"],
                expectation=expectation.expectation_type,
                severity=meta["severity"],
                description=meta["description"],
                success=bool(result.success) and error is None,
                observed_value=_observed(expectation, info, error),
                unexpected_count=None if error is not None or unexpected is None else int(unexpected),
                offending_rows=offending,
            )
        )
    return checks


# --- GX context -----------------------------------------------------------------------------


def _quiet_gx_logging() -> None:
    """GX logs ~200 'Skipping registering function' INFO lines on import: keep WARNING and up."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)


def _context(gx_dir: Path, docs_dir: Path):
    """An ephemeral GX context whose suites and validation results are files under ``gx_dir``.

    Validation definitions, checkpoints and the data source are rebuilt by each call, so they
    stay in memory. Progress bars are off (they would go to stderr).
    """
    _quiet_gx_logging()
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        ProgressBarsConfig,
    )

    def files(class_name: str, directory: str) -> dict:
        return {
            "class_name": class_name,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(gx_dir / directory),
            },
        }

    def memory(class_name: str) -> dict:
        return {"class_name": class_name, "store_backend": {"class_name": "InMemoryStoreBackend"}}

    config = DataContextConfig(
        expectations_store_name="expectations_store",
        validation_results_store_name="validation_results_store",
        checkpoint_store_name="checkpoint_store",
        stores={
            "expectations_store": files("ExpectationsStore", "expectations"),
            "validation_results_store": files("ValidationResultsStore", "validations"),
            "validation_definition_store": memory("ValidationDefinitionStore"),
            "checkpoint_store": memory("CheckpointStore"),
        },
        data_docs_sites={
            DOCS_SITE_NAME: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


@contextlib.contextmanager
def _exclusive(gx_dir: Path) -> Iterator[None]:
    """One validation at a time per ``gx_dir``: threads share GX's global current context, and
    concurrent processes would both rewrite the suite file and the site's index.html."""
    with _THREAD_LOCK, (gx_dir / ".validate.lock").open("a") as handle:
        try:
            import fcntl
        except ImportError:  # not POSIX: the thread lock is all we have
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _safe_name(text: str) -> str:
    """A name usable in GX object names and in the file paths GX derives from them."""
    return _UNSAFE_NAME_CHARS.sub("_", str(text)).strip("_") or "batch"


# --- results --------------------------------------------------------------------------------


def _describe_spec(number: int, spec: Any) -> str:
    if not isinstance(spec, dict):
        return f"expectation #{number}"
    kind = spec.get("type", "?")
    meta = spec.get("meta")
    rule = meta.get("rule") if isinstance(meta, dict) else None
    return f"expectation #{number} ({kind}{f', rule {rule!r}' if rule else ''})"


def _exception_message(exception_info: Any) -> str | None:
    """GX's exception_info is either one {raised_exception, exception_message, ...} dict or a dict
    of those keyed by metric; None when nothing was raised."""
    if not isinstance(exception_info, Mapping):
        return None
    candidates = [exception_info] if "raised_exception" in exception_info else exception_info.values()
    for info in candidates:
        if isinstance(info, Mapping) and info.get("raised_exception"):
            message = str(info.get("exception_message") or "exception").strip()
            return message.splitlines()[0][:200] if message else "exception"
    return None


def _observed(expectation: Any, info: Mapping, error: str | None) -> str:
    if error is not None:
        return f"error: {error}"
    if info.get("unexpected_count") is not None and info.get("element_count") is not None:
        unexpected = int(info["unexpected_count"])
        total = int(info["element_count"])
        rows = f"{total} rows"
        condition = _condition_text(getattr(expectation, "row_condition", None))
        if condition:
            rows += f" where {condition}"
        if not unexpected:
            return f"0 of {rows} unexpected"
        share = 100 * unexpected / total if total else 0.0
        percent = f"{share:.1f}" if share >= 0.1 else f"{share:.2g}"
        text = f"{unexpected} of {rows} ({percent}%) unexpected"
        values = _values_text(info.get("partial_unexpected_counts") or [])
        return f"{text}: {values}" if values else text
    if "observed_value" in info:
        value = _short(info["observed_value"])
        if expectation.expectation_type.startswith("expect_table_row_count"):
            return f"row count {value}"
        if expectation.expectation_type.startswith("expect_table_column_count"):
            return f"column count {value}"
        return f"observed {value}"
    return "no observed value"


def _condition_text(condition: Any) -> str | None:
    if not condition:
        return None
    if isinstance(condition, str):
        return condition
    if hasattr(condition, "pass_through_filter"):
        return str(condition.pass_through_filter)
    return repr(condition)


def _values_text(counts: Sequence[Mapping]) -> str:
    """The distinct unexpected values, most frequent first. GX counts them within the partial
    list only (``partial_unexpected_count`` rows), so the counts themselves are not shown."""
    parts = [_short(entry.get("value")) for entry in counts[:MAX_VALUES_SHOWN]]
    if len(counts) > MAX_VALUES_SHOWN:
        parts.append("...")
    return ", ".join(parts)


def _short(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        text = str(int(value))
    elif isinstance(value, (tuple, list)):
        text = " vs ".join(_short(item) for item in value)
    elif isinstance(value, str):
        text = repr(value)
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _plain(value: Any) -> Any:
    """A plain JSON-able Python value: numpy scalars unwrapped, NaN/NA/NaT as None."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(item) for item in value)
    import pandas as pd

    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):  # array-likes
        pass
    if hasattr(value, "item") and not isinstance(value, (bytes, bytearray)):
        try:
            return _plain(value.item())
        except (TypeError, ValueError):
            pass
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


class _RowFinder:
    """Finds the frame rows GX reported as unexpected and returns them as plain dicts."""

    def __init__(self, frame: pandas.DataFrame, index_columns: Sequence[str]) -> None:
        self._frame = frame
        self._columns = list(index_columns)
        self._positions: dict[tuple, list[int]] | None = None

    def rows(self, reported: Sequence[Any]) -> tuple[dict, ...]:
        positions: list[int] = []
        for entry in reported:
            for position in self._locate(entry):
                if position not in positions:
                    positions.append(position)
            if len(positions) >= MAX_OFFENDING_ROWS:
                break
        records = self._frame.iloc[positions[:MAX_OFFENDING_ROWS]].to_dict(orient="records")
        return tuple({str(k): _plain(v) for k, v in record.items()} for record in records)

    def _locate(self, entry: Any) -> list[int]:
        if not self._columns:  # entries are index labels, which are positions (reset_index)
            return [int(entry)] if isinstance(entry, (int,)) or hasattr(entry, "item") else []
        if not isinstance(entry, Mapping):
            return []
        if self._positions is None:
            keys = zip(*(self._frame[column].tolist() for column in self._columns), strict=True)
            self._positions = {}
            for position, key in enumerate(keys):
                self._positions.setdefault(tuple(_plain(v) for v in key), []).append(position)
        key = tuple(_plain(entry.get(column)) for column in self._columns)
        return self._positions.get(key, [])
