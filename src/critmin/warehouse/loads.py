"""What the sources hand the warehouse: a customs month's partition (replaced in one transaction,
the previous one kept aside for ``restore_customs_month``), the registers (replaced whole) and the
data-quality results of a month."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from critmin.warehouse.builds import forget_whole_build
from critmin.warehouse.connection import append_frame, append_parquet, insert_rows, transaction, writing
from critmin.warehouse.tables import (
    BEFORE_LOAD,
    CUSTOMS_PARTITIONED,
    GACC_EXPORT_FILES,
    GACC_EXPORT_ROWS,
    QUALITY_RESULTS,
    REGISTER_TABLES,
    WAREHOUSE_LOADS,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence
    from pathlib import Path

    import duckdb
    import pandas as pd

    from critmin.months import Month

log = logging.getLogger(__name__)


# --- customs month partitions ---------------------------------------------------------------------


class CustomsMonthLoad:
    """The month's new partition being written, inside ``customs_month_load``'s transaction."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, month: Month) -> None:
        self.connection = connection
        self.month = month
        self.rows = 0

    def add_rows(self, frame: pd.DataFrame, sha256: str) -> int:
        """Rows of one file (columns named as in ``raw.gacc_export_rows``, values as text)."""
        added = append_frame(
            self.connection,
            GACC_EXPORT_ROWS,
            frame,
            {"data_month": self.month.first_day, "source_file_sha256": sha256},
        )
        self.rows += added
        return added

    def add_rows_parquet(self, path: Path, sha256: str) -> int:
        """``add_rows`` for rows in a Parquet file (columns named as in ``raw.gacc_export_rows``)."""
        added = append_parquet(
            self.connection,
            GACC_EXPORT_ROWS,
            path,
            {"data_month": self.month.first_day, "source_file_sha256": sha256},
        )
        self.rows += added
        return added

    def add_file(self, file: Mapping[str, Any]) -> None:
        """One file's row of ``raw.gacc_export_files`` (its month is the partition's)."""
        insert_rows(self.connection, GACC_EXPORT_FILES, [{**file, "data_month": self.month.first_day}])

    def record_results(self, results: Iterable[Mapping[str, Any]]) -> None:
        replace_results(self.connection, self.month, results)


def _copy_partition(connection: duckdb.DuckDBPyConnection, source: str, target: str, month: Month) -> None:
    """Make the month's partition of ``target`` a copy of that of ``source``."""
    day = month.first_day
    connection.execute(f"delete from {target} where data_month = ?", [day])
    connection.execute(f"insert into {target} from {source} where data_month = ?", [day])


def _record_load(connection: duckdb.DuckDBPyConnection, what: str, run_id: str | None) -> None:
    connection.execute(f"delete from {WAREHOUSE_LOADS} where what = ?", [what])
    connection.execute(
        f"insert into {WAREHOUSE_LOADS} values (?, ?, ?)", [what, run_id or "unknown", datetime.now(UTC)]
    )


def _loaded_by(connection: duckdb.DuckDBPyConnection, what: str) -> str | None:
    row = connection.execute(f"select run_id from {WAREHOUSE_LOADS} where what = ?", [what]).fetchone()
    return row[0] if row else None


def last_load_run(path: Path, what: str) -> str | None:
    """The run whose load of ``what`` (a month, or ``registers``) is the warehouse's current one."""
    with writing(path) as connection:
        return _loaded_by(connection, what)


@contextmanager
def customs_month_load(path: Path, month: Month, run_id: str | None = None) -> Iterator[CustomsMonthLoad]:
    """Replace the month's customs partition with what the block adds, in one transaction.

    The partition it replaces is kept aside for ``restore_customs_month``. An exception in the
    block rolls everything back: the previous partition stays as it was.
    """
    with writing(path) as connection, transaction(connection):
        # A retry of the same run keeps the back-up its first try took: the partition now in
        # place is that run's own, never gated.
        retried = run_id is not None and _loaded_by(connection, str(month)) == run_id
        for table in CUSTOMS_PARTITIONED:
            if not retried:
                _copy_partition(connection, table, f"{table}{BEFORE_LOAD}", month)
            connection.execute(f"delete from {table} where data_month = ?", [month.first_day])
        _record_load(connection, str(month), run_id)
        yield CustomsMonthLoad(connection, month)


def restore_customs_month(path: Path, month: Month) -> None:
    """Put back the partition the last load replaced (an empty one for a month that was new)."""
    with writing(path) as connection, transaction(connection):
        for table in CUSTOMS_PARTITIONED:
            _copy_partition(connection, f"{table}{BEFORE_LOAD}", table, month)
        forget_whole_build(connection)
    log.warning("restored the partition of %s as it was before this run's load", month)


# --- registers ------------------------------------------------------------------------------------


def replace_registers(
    path: Path,
    rows: Mapping[str, Sequence[Mapping[str, Any]]],
    month: Month,
    results: Iterable[Mapping[str, Any]],
    run_id: str | None = None,
) -> None:
    """Replace every register table with ``rows`` (table -> column dicts), in one transaction,
    with the gate's results recorded under ``month``. The tables it replaces are kept aside for
    ``restore_registers``."""
    unknown = set(rows) - set(REGISTER_TABLES)
    if unknown:
        raise KeyError(f"not register tables: {sorted(unknown)}")
    with writing(path) as connection, transaction(connection):
        retried = run_id is not None and _loaded_by(connection, "registers") == run_id
        for table in REGISTER_TABLES:
            if not retried:  # kept aside until the registers are published, for restore_registers
                connection.execute(f"delete from {table}{BEFORE_LOAD}")
                connection.execute(f"insert into {table}{BEFORE_LOAD} from {table}")
            connection.execute(f"delete from {table}")
            insert_rows(connection, table, rows.get(table, ()))
        _record_load(connection, "registers", run_id)
        replace_results(connection, month, results)


def restore_registers(path: Path) -> None:
    """Put back the register tables the last registers load replaced."""
    with writing(path) as connection, transaction(connection):
        for table in REGISTER_TABLES:
            connection.execute(f"delete from {table}")
            connection.execute(f"insert into {table} from {table}{BEFORE_LOAD}")
        forget_whole_build(connection)
    log.warning("restored the registers as they were before this run's load")


# --- data-quality results -------------------------------------------------------------------------


def replace_results(
    connection: duckdb.DuckDBPyConnection, month: Month, results: Iterable[Mapping[str, Any]]
) -> int:
    """Replace the month's results for the datasets present in ``results`` (inside the caller's
    transaction, if any), so the table holds the latest validation of every loaded month.
    Returns the number of rows written."""
    results = list(results)
    validated_at = datetime.now(UTC)
    day = month.first_day
    for dataset in sorted({r["dataset"] for r in results}):
        connection.execute(
            f"delete from {QUALITY_RESULTS} where data_month = ? and dataset = ?", [day, dataset]
        )
    insert_rows(
        connection,
        QUALITY_RESULTS,
        [
            {
                "data_month": day,
                "dataset": r["dataset"],
                "batch": r["batch"],
                "rule": r["rule"],
                "expectation_type": r["expectation"],
                "severity": r["severity"],
                "success": bool(r["success"]),
                "observed_value": r["observed_value"],
                "unexpected_count": r["unexpected_count"],
                "validated_at": validated_at,
            }
            for r in results
        ],
    )
    return len(results)


def record_results(path: Path, month: Month, results: Iterable[Mapping[str, Any]]) -> int:
    with writing(path) as connection:
        return replace_results(connection, month, results)
