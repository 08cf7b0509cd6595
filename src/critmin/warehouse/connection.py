"""Connections, transactions and inserts: the only code that opens ``warehouse.duckdb``."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from critmin.warehouse.tables import TABLES, ddl

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator, Mapping, Sequence
    from pathlib import Path

    import duckdb
    import pandas as pd


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


@contextmanager
def writing(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to the warehouse, with every raw and audit table in place."""
    with connect(path) as connection:
        connection.execute(ddl())
        yield connection


def _cast_columns(
    table: str, columns: Collection[str], constants: Mapping[str, Any] | None
) -> tuple[str, list[Any]]:
    """The select list inserting rows with ``columns`` into ``table``, each cast to the table's
    type; ``constants`` are the same for every row; columns of the table in neither are NULL."""
    constants = dict(constants or {})
    selected, parameters = [], []
    for name, kind in TABLES[table]:
        sql_type = kind.removesuffix(" not null")
        if name in constants:
            selected.append(f"cast(? as {sql_type})")
            parameters.append(constants[name])
        elif name in columns:
            selected.append(f'cast("{name}" as {sql_type})')
        else:
            selected.append(f"cast(null as {sql_type})")
    return ", ".join(selected), parameters


def append_frame(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    constants: Mapping[str, Any] | None = None,
) -> int:
    """Insert a frame's rows into ``table``, each column cast to the table's type.

    ``constants`` gives columns that are the same for every row (the partition key, the file).
    Columns of the table in neither are NULL. Returns the number of rows inserted.
    """
    selected, parameters = _cast_columns(table, set(frame.columns), constants)
    connection.register("_critmin_frame", frame)
    try:
        connection.execute(f"insert into {table} select {selected} from _critmin_frame", parameters)
    finally:
        connection.unregister("_critmin_frame")
    return len(frame)


def append_parquet(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    path: Path,
    constants: Mapping[str, Any] | None = None,
) -> int:
    """``append_frame`` for rows in a Parquet file (one INSERT, nothing through Python).

    The file's columns are named as the table's; values are cast exactly as ``append_frame``
    casts a frame's. Returns the number of rows inserted.
    """
    described = connection.execute("select * from read_parquet(?) limit 0", [str(path)]).description
    selected, parameters = _cast_columns(table, {column[0] for column in described or ()}, constants)
    result = connection.execute(
        f"insert into {table} select {selected} from read_parquet(?)", [*parameters, str(path)]
    ).fetchone()
    return int(result[0]) if result else 0


def insert_rows(connection: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    if not rows:
        return
    names = [name for name, _ in TABLES[table]]
    marks = ", ".join("?" * len(names))
    connection.executemany(
        f"insert into {table} values ({marks})", [[row.get(name) for name in names] for row in rows]
    )


def query_frame(path: Path, sql: str, parameters: Mapping[str, Any] | Sequence[Any] = ()) -> pd.DataFrame:
    """Read a query's result as a DataFrame through a read-only connection."""
    with connect(path, read_only=True) as connection:
        return connection.execute(sql, parameters).df()
