"""The one module that opens DuckDB files.

DuckDB allows one writing process per file, and a writer blocks even read-only readers, so the
pipeline opens ``warehouse.duckdb`` only from tasks in the one-slot warehouse pool, and users only
ever open ``serving.duckdb``. Keeping connection handling here keeps a later move to a multi-writer
engine (DuckLake, MotherDuck) small.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import duckdb


@contextmanager
def connect(path: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open a DuckDB file and always close it, so the file lock is released for the next task."""
    import duckdb

    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(str(path), read_only=read_only)
    try:
        yield connection
    finally:
        connection.close()


@contextmanager
def transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: commit when the block ends normally, roll back on any exception."""
    connection.execute("begin transaction")
    try:
        yield connection
    except BaseException:
        connection.execute("rollback")
        raise
    connection.execute("commit")


def ensure_raw_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """Create every table dbt reads as a source (empty until its loader first runs), so either
    DAG can build the whole project on a new warehouse."""
    from critmin.gacc.exports import ensure_tables as ensure_customs_tables
    from critmin.quality.results import ensure_table as ensure_results_table
    from critmin.registers import ensure_tables as ensure_register_tables

    ensure_customs_tables(connection)
    ensure_register_tables(connection)
    ensure_results_table(connection)
