"""Connections, transactions and inserts: the only code that opens ``warehouse.duckdb``."""

from __future__ import annotations

import logging
import re
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from critmin.errors import PipelineError
from critmin.warehouse.tables import SCHEMA_VERSION, TABLES, ddl, ddl_digest

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator, Mapping, Sequence
    from pathlib import Path

    import duckdb
    import pandas as pd


log = logging.getLogger(__name__)

#: How long opening the warehouse waits for another process's connection to close (a person who
#: opened the file with the DuckDB CLI for a quick look) before failing with ``WarehouseLocked``.
LOCK_WAIT_SECONDS = 60.0
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")


#: DuckDB's resource settings (memory_limit, threads) for every connection this process opens to
#: the warehouse, set once by the entry point from the settings (``use_resources``). Empty:
#: DuckDB's defaults (80% of the machine's memory, every core).
_RESOURCES: dict[str, str] = {}


def use_resources(resources: Mapping[str, str]) -> None:
    """Set the DuckDB resources of this process's warehouse connections (``Settings.duckdb_resources``)."""
    _RESOURCES.clear()
    _RESOURCES.update(resources)


def resources() -> dict[str, str | bool | int | float | list[str]]:
    return dict(_RESOURCES)


class WarehouseLocked(PipelineError):
    """Another process has the warehouse file open (DuckDB allows one process while it writes)."""


def _locked_message(path: Path, error: Exception, waited: float) -> str:
    found = _LOCK_HOLDER.search(str(error))
    who = f"process {found.group(2)} ({found.group(1)})" if found else "another process"
    return (
        f"{path} is open in {who}, still after {waited:.0f} s: DuckDB lets one process at a time use "
        "a file that is being written. warehouse.duckdb is the pipeline's own: close that connection "
        "(a DuckDB CLI, a notebook, a BI tool) and query serving.duckdb instead; then run this again "
        "(Airflow retries it)."
    )


def _is_lock_conflict(error: Exception) -> bool:
    text = str(error)
    return "Could not set lock" in text or "Conflicting lock" in text


@contextmanager
def connect(
    path: Path, *, read_only: bool = False, wait_seconds: float = LOCK_WAIT_SECONDS
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open a DuckDB file and always close it, so the file lock is released for the next task.

    While another process has the file open, waits up to ``wait_seconds`` for it to close, then
    raises ``WarehouseLocked`` naming that process."""
    import duckdb

    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    announced = False
    while True:
        try:
            connection = duckdb.connect(str(path), read_only=read_only, config=resources())
            break
        except duckdb.IOException as error:
            waited = time.monotonic() - started
            if not _is_lock_conflict(error):
                raise
            if waited >= wait_seconds:
                raise WarehouseLocked(_locked_message(path, error, waited)) from error
            if not announced:
                log.warning("waiting for %s: %s", path, str(error).splitlines()[0])
                announced = True
            time.sleep(0.25)
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
        bring_up_to_date(connection)
        yield connection


def bring_up_to_date(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the raw and audit tables that are missing and bring older ones up to date (``ddl``),
    unless the warehouse records that it already was, by these very definitions: one small read
    instead of the DDL's fifty statements, on each of the twenty-odd opens of a run."""
    import duckdb

    digest = ddl_digest()
    try:
        recorded = connection.execute(f"select ddl_sha256 from {SCHEMA_VERSION}").fetchall()
    except duckdb.CatalogException:  # a new warehouse, or one from before the record
        recorded = []
    if recorded == [(digest,)]:
        return
    with transaction(connection):
        connection.execute(ddl())
        connection.execute(f"delete from {SCHEMA_VERSION}")
        connection.execute(f"insert into {SCHEMA_VERSION} values (?)", [digest])


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
