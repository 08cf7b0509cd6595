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

The Data Docs update must not slow down as results pile up (a home keeps every validation of every
month: ~5 a month, 600 in ten years). GX's own builders list every stored result once per site
section and read and deserialize every stored result to write the index (about 1 ms each). Two
builders of ``critmin.quality.data_docs``, named in the site's config, keep GX's output and avoid both:

- ``IncrementalSiteSectionBuilder`` renders the requested pages without listing the whole store;
- ``SummaryCachingSiteIndexBuilder`` takes what the index shows of each result (success, asset
  name, batch kwargs/spec) from ``gx_dir / data_docs.INDEX_CACHE_NAME``, filled the first time a result is
  listed. A stored result never changes (its key has the run time to the microsecond), so the
  summary stays right; a missing or unreadable cache is rebuilt from the results.

Great Expectations is imported inside functions only: this module is imported by Airflow DAG
files, and importing GX takes seconds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from critmin.quality import data_docs
from critmin.quality.results import CheckResult, RowFinder, check_results
from critmin.quality.sql_metrics import PARTIAL_UNEXPECTED_COUNT
from critmin.quality.suites import load_suite, quiet_gx_logging

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    import pandas

__all__ = ["CheckResult", "add_stored_results_to_data_docs", "data_docs_index", "load_suite", "validate"]

log = logging.getLogger(__name__)

DOCS_SITE_NAME = "critmin_quality"

_UNSAFE_NAME_CHARS = re.compile(r"[^\w.\-]+")
_THREAD_LOCK = threading.Lock()
#: The validations whose Data Docs pages are still to be rendered (one JSON key per line).
PENDING_DOCS = "pending-data-docs.jsonl"


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
    render_docs: bool = True,
) -> list[CheckResult]:
    """Validate ``frame`` with the suite at ``suite_path``; one CheckResult per expectation.

    The validation is added to the Data Docs site under ``docs_dir`` (``index.html`` lists every
    validation kept in ``gx_dir``): at once, or, with ``render_docs=False``, by the next
    ``render_pending_docs`` (a run renders its pages once, not once per validation).
    ``index_columns`` identify a row (GX reports the failing rows by these columns); those missing
    from ``frame`` are ignored. ``run_name`` defaults to ``batch``.
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
    asset_name = safe_name(batch)
    with exclusive(gx_dir):
        context = gx_context(gx_dir, docs_dir)
        source = context.data_sources.add_or_update_pandas(name=safe_name(dataset))
        asset = source.add_dataframe_asset(name=asset_name)
        batch_definition = asset.add_batch_definition_whole_dataframe("whole_dataframe")
        suite = context.suites.add_or_update(suite)
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=f"{suite.name}:{asset_name}", data=batch_definition, suite=suite)
        )
        docs_action = gx.checkpoint.UpdateDataDocsAction(name="update_data_docs", site_names=[DOCS_SITE_NAME])
        checkpoint = context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=f"{suite.name}:{asset_name}",
                validation_definitions=[definition],
                actions=[docs_action] if render_docs else [],
                result_format=result_format,
            )
        )
        outcome = checkpoint.run(
            batch_parameters={"dataframe": frame},
            run_id=RunIdentifier(run_name=run_name or batch, run_time=dt.datetime.now(dt.UTC)),
        )
        if not render_docs:
            with (gx_dir / PENDING_DOCS).open("a", encoding="utf-8") as pending:
                for key in outcome.run_results:
                    pending.write(json.dumps(list(key.to_tuple())) + "\n")
    (validation_result,) = outcome.run_results.values()

    by_id = {r.expectation_config.id: r for r in validation_result.results}
    return check_results(suite, by_id, dataset, batch, RowFinder(frame, present_index).rows)


def render_pending_docs(docs_dir: Path, gx_dir: Path | None = None) -> int:
    """Render the Data Docs pages of the validations run with ``render_docs=False`` since the last
    call (their suites' pages and the index once); returns how many. Nothing to do: no GX import."""
    docs_dir = Path(docs_dir).expanduser().resolve()
    gx_dir = Path(gx_dir).expanduser().resolve() if gx_dir else docs_dir.parent.parent / "gx"
    pending = gx_dir / PENDING_DOCS
    if not pending.exists() or not pending.stat().st_size:
        return 0
    from great_expectations.data_context.types.resource_identifiers import ValidationResultIdentifier

    docs_dir.mkdir(parents=True, exist_ok=True)
    with exclusive(gx_dir):
        lines = pending.read_text(encoding="utf-8").splitlines() if pending.exists() else []
        keys = [
            ValidationResultIdentifier.from_tuple(tuple(json.loads(line))) for line in lines if line.strip()
        ]
        if keys:
            context = gx_context(gx_dir, docs_dir)
            context.build_data_docs(site_names=[DOCS_SITE_NAME], resource_identifiers=keys)
        pending.unlink(missing_ok=True)
    return len(keys)


def add_stored_results_to_data_docs(
    result_files: Sequence[Path], *, docs_dir: Path, gx_dir: Path | None = None
) -> int:
    """Render the Data Docs pages of validation results written into ``gx_dir``'s store by other
    means than ``validate`` (the benchmark's SYNTHETIC history), then the index once; returns how
    many pages were asked for. A file is named as GX stores it:
    ``validations/<suite>/<run name>/<run time>/<batch>.json``."""
    docs_dir = Path(docs_dir).expanduser().resolve()
    gx_dir = Path(gx_dir).expanduser().resolve() if gx_dir else docs_dir.parent.parent / "gx"
    store = gx_dir / "validations"
    from great_expectations.data_context.types.resource_identifiers import ValidationResultIdentifier

    keys = [
        ValidationResultIdentifier.from_tuple(Path(path).resolve().relative_to(store).with_suffix("").parts)
        for path in result_files
    ]
    docs_dir.mkdir(parents=True, exist_ok=True)
    with exclusive(gx_dir):
        gx_context(gx_dir, docs_dir).build_data_docs(site_names=[DOCS_SITE_NAME], resource_identifiers=keys)
    return len(keys)


# --- GX context -----------------------------------------------------------------------------


def gx_context(gx_dir: Path, docs_dir: Path):
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
                "class_name": "OfflineSiteBuilder",
                "module_name": data_docs.__name__,
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
                "site_index_builder": {
                    "class_name": "SummaryCachingSiteIndexBuilder",
                    "module_name": data_docs.__name__,
                    "summary_cache": str(gx_dir / data_docs.INDEX_CACHE_NAME),
                },
                "site_section_builders": {
                    section: {
                        "class_name": "IncrementalSiteSectionBuilder",
                        "module_name": data_docs.__name__,
                    }
                    for section in ("expectations", "validations", "profiling")
                },
            }
        },
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


@contextlib.contextmanager
def exclusive(gx_dir: Path) -> Iterator[None]:
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


def safe_name(text: str) -> str:
    """A name usable in GX object names and in the file paths GX derives from them."""
    return _UNSAFE_NAME_CHARS.sub("_", str(text)).strip("_") or "batch"
