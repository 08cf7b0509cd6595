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
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from critmin.quality.results import CheckResult, RowFinder, exception_message, observed
from critmin.quality.suites import load_suite, quiet_gx_logging

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    import pandas

__all__ = ["CheckResult", "data_docs_index", "load_suite", "validate"]

#: How many unexpected values/rows GX keeps per expectation (in results and in Data Docs).
PARTIAL_UNEXPECTED_COUNT = 20
DOCS_SITE_NAME = "critmin_quality"

_UNSAFE_NAME_CHARS = re.compile(r"[^\w.\-]+")
_THREAD_LOCK = threading.Lock()


def data_docs_index(docs_dir: Path) -> Path:
    """The Data Docs site's entry page."""
    return Path(docs_dir) / "index.html"


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

    rows = RowFinder(frame, present_index)
    by_id = {r.expectation_config.id: r for r in validation_result.results}
    checks = []
    for expectation in suite.expectations:
        result = by_id[expectation.id]
        meta = expectation.meta or {}
        info = dict(result.result or {})
        error = exception_message(result.exception_info)
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
                observed_value=observed(expectation, info, error),
                unexpected_count=None if error is not None or unexpected is None else int(unexpected),
                offending_rows=offending,
            )
        )
    return checks


# --- GX context -----------------------------------------------------------------------------


def _context(gx_dir: Path, docs_dir: Path):
    """An ephemeral GX context whose suites and validation results are files under ``gx_dir``.

    Validation definitions, checkpoints and the data source are rebuilt by each call, so they
    stay in memory. Progress bars are off (they would go to stderr).
    """
    quiet_gx_logging()
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
