"""Validation results in the warehouse (``audit.data_quality_results``), for ``marts.data_quality_results``.

Each gate's results for a month replace that month's earlier results of the same datasets, so the
table holds the latest validation of every loaded month, warnings included, for analysts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from critmin.months import first_day

if TYPE_CHECKING:
    from collections.abc import Iterable

    import duckdb

TABLE = "audit.data_quality_results"
_DDL = f"""
create schema if not exists audit;
create table if not exists {TABLE} (
    data_month date not null,
    dataset varchar not null,
    batch varchar not null,
    rule varchar not null,
    expectation_type varchar not null,
    severity varchar not null,
    success boolean not null,
    observed_value varchar,
    unexpected_count bigint,
    validated_at timestamptz not null
);
"""


def ensure_table(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(_DDL)


def replace_results(
    connection: duckdb.DuckDBPyConnection, month: str, results: Iterable[dict[str, Any]]
) -> int:
    """Replace the month's results for the datasets present in ``results`` (inside the caller's
    transaction, if any). Returns the number of rows written."""
    results = list(results)
    ensure_table(connection)
    validated_at = datetime.now(UTC)
    for dataset in sorted({r["dataset"] for r in results}):
        connection.execute(
            f"delete from {TABLE} where data_month = ? and dataset = ?", [first_day(month), dataset]
        )
    if results:
        connection.executemany(
            f"insert into {TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    first_day(month),
                    r["dataset"],
                    r["batch"],
                    r["rule"],
                    r["expectation"],
                    r["severity"],
                    bool(r["success"]),
                    r["observed_value"],
                    r["unexpected_count"],
                    validated_at,
                ]
                for r in results
            ],
        )
    return len(results)
