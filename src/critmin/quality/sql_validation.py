"""Validate a batch held in a DuckDB table: each expectation's metrics computed in SQL, judged and
worded by Great Expectations' own expectation classes, stored as a GX validation result.

A million-row download's raw suite in pandas meant a Python object per cell (a frame of every row,
over 1 GiB) and most of a month's time. Here the rows stay in DuckDB: for each expectation of the
suite, one query computes the metrics GX's pandas and SQL engines compute (the row count of the
expectation's domain, its null count, its unexpected count, and the first
``PARTIAL_UNEXPECTED_COUNT`` unexpected values and rows in the table's order), and the expectation
object's own ``_validate`` turns them into its result: GX decides success (``mostly`` included) and
shapes the result exactly as it does for a pandas batch. The suite result is written to the same
validation results store and the same Data Docs site as ``validation.validate``'s, and becomes the
same ``CheckResult`` list, so the gates, ``marts.data_quality_results`` and Data Docs read it as
before. ``tests/test_validation.py`` runs every rule's breaking case through both and compares.

Why not GX's own SQL data source: on DuckDB (through duckdb-engine) its bundled metric queries fail
(GX issue #10738, closed without a fix), and the native DuckDB execution engine (GX pull request
#12084) is not released. The expectation types this module computes are those the suites use
(``SQL_EXPECTATIONS``); a suite with another type is refused with its name, never skipped.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from critmin.quality import validation
from critmin.quality.sql_metrics import SqlMetrics
from critmin.quality.suites import load_suite

if TYPE_CHECKING:
    from collections.abc import Sequence

    import duckdb
    import pandas

    from critmin.quality.results import CheckResult

#: The expectation types computed in SQL (every one the row suites use).
SQL_EXPECTATIONS = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_be_unique",
        "expect_column_pair_values_to_be_equal",
        "expect_table_row_count_to_be_between",
    }
)


def validate_frame(frame: pandas.DataFrame, suite_path: Path, **options: Any) -> list[CheckResult]:
    """``validate_table`` for the rows of a pandas frame, in their order: the frame is copied into
    a table of an in-memory DuckDB database. Gives what ``validation.validate`` gives for the frame
    (``tests/test_sql_gates.py`` compares the two on every suite), but that a column of Decimals
    is read at one scale (DuckDB's ``DECIMAL``): a value is shown with the column's decimals."""
    import duckdb

    with duckdb.connect() as connection:
        # DuckDB types an object column (Decimals, say) from its first rows unless told to read all.
        connection.execute(f"set pandas_analyze_sample = {max(len(frame), 1000)}")
        connection.register("frame_rows", frame)
        connection.execute("create table batch as select * from frame_rows")
        return validate_table(connection, "batch", suite_path, **options)


def validate_table(
    connection: duckdb.DuckDBPyConnection,
    table: str,
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
    """``validation.validate`` for the rows of ``table`` (in ``connection``), in their row order."""
    suite = load_suite(suite_path)
    unsupported = [
        e.expectation_type for e in suite.expectations if e.expectation_type not in SQL_EXPECTATIONS
    ]
    if unsupported:
        raise ValueError(f"{suite_path}: {', '.join(sorted(set(unsupported)))} cannot be validated in SQL")
    docs_dir = Path(docs_dir).expanduser().resolve()
    gx_dir = Path(gx_dir).expanduser().resolve() if gx_dir else docs_dir.parent.parent / "gx"
    columns = [row[0] for row in connection.execute(f"describe {table}").fetchall()]
    index = [column for column in index_columns if column in columns]
    result_format = {
        "result_format": "SUMMARY",
        "partial_unexpected_count": validation.PARTIAL_UNEXPECTED_COUNT,
        "unexpected_index_column_names": index,
    }
    query = SqlMetrics(connection, table, index)
    asset_name = validation.safe_name(batch)
    batch_id = f"{validation.safe_name(dataset)}-{asset_name}"

    from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult

    results = []
    for expectation in suite.expectations:
        outcome = expectation._validate(
            metrics=query.metrics(expectation), runtime_configuration={"result_format": result_format}
        )
        configuration = expectation.configuration
        configuration.kwargs["batch_id"] = batch_id
        results.append(
            ExpectationValidationResult(
                success=bool(outcome["success"]),
                result=outcome.get("result") or {},
                expectation_config=configuration,
                exception_info={
                    "raised_exception": False,
                    "exception_message": None,
                    "exception_traceback": None,
                },
            )
        )
    run_time = dt.datetime.now(dt.UTC)
    successful = sum(1 for result in results if result.success)
    suite_result = ExpectationSuiteValidationResult(
        success=successful == len(results),
        results=results,
        suite_name=suite.name,
        statistics={
            "evaluated_expectations": len(results),
            "successful_expectations": successful,
            "unsuccessful_expectations": len(results) - successful,
            "success_percent": successful / len(results) * 100 if results else None,
        },
        meta=_meta(dataset, asset_name, table, run_name or batch, run_time),
    )
    store_result(
        suite, suite_result, gx_dir, docs_dir, run_name or batch, run_time, batch_id, render_docs=render_docs
    )
    by_id = {expectation.id: result for expectation, result in zip(suite.expectations, results, strict=True)}
    return validation.check_results(suite, by_id, dataset, batch, query.rows)


def _meta(dataset: str, asset_name: str, table: str, run_name: str, run_time: dt.datetime) -> dict[str, Any]:
    import great_expectations as gx

    moment = run_time.strftime("%Y%m%dT%H%M%S.%fZ")
    return {
        "great_expectations_version": gx.__version__,
        "batch_spec": {"batch_data": f"DuckDB table {table} (validated in SQL by critmin)"},
        "batch_markers": {"ge_load_time": moment},
        "active_batch_definition": {
            "datasource_name": validation.safe_name(dataset),
            "data_connector_name": "fluent",
            "data_asset_name": asset_name,
            "batch_identifiers": {},
        },
        "run_id": {"run_name": run_name, "run_time": run_time.isoformat()},
        "validation_time": run_time.isoformat(),
    }


def store_result(
    suite: Any,
    suite_result: Any,
    gx_dir: Path,
    docs_dir: Path,
    run_name: str,
    run_time: dt.datetime,
    batch_id: str,
    *,
    render_docs: bool,
) -> None:
    """Keep a suite result in the validation results store, as a checkpoint run keeps it; its Data
    Docs page is rendered now or by the run's ``render_pending_docs``."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    gx_dir.mkdir(parents=True, exist_ok=True)
    docs_dir.mkdir(parents=True, exist_ok=True)
    key = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
        run_id=RunIdentifier(run_name=run_name, run_time=run_time),
        batch_identifier=batch_id,
    )
    with validation.exclusive(gx_dir):
        context = validation.gx_context(gx_dir, docs_dir)
        context.suites.add_or_update(suite)
        context.validation_results_store.set(key, suite_result)
        if render_docs:
            context.build_data_docs(site_names=[validation.DOCS_SITE_NAME], resource_identifiers=[key])
        else:
            with (gx_dir / validation.PENDING_DOCS).open("a", encoding="utf-8") as pending:
                pending.write(json.dumps(list(key.to_tuple())) + "\n")
