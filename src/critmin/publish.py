"""Publish the marts: a new ``serving.duckdb`` built beside the old one, then renamed into place.

Users and BI tools only ever open ``serving.duckdb`` (read-only). It is written as a new file and
swapped in with an atomic rename, so a reader never waits on the pipeline's writer lock and never
sees half a month: a connection already open keeps reading the previous file until it reconnects.
Only the ``marts`` schema is published, with its table and column comments (the dbt docs), in a
storage format every maintained DuckDB client reads (see ``critmin.serving``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from typing import TYPE_CHECKING

from critmin.errors import PipelineError
from critmin.files import fsync_dir
from critmin.serving import FILE_MODE, PUBLISHED_SCHEMA, STORAGE_VERSION
from critmin.warehouse.lease import process_alive

if TYPE_CHECKING:
    from pathlib import Path

    from critmin.settings import Paths

log = logging.getLogger(__name__)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def remove_stale_staged_files(serving_db: Path) -> list[Path]:
    """Remove what a killed publish left beside ``serving.duckdb``: its staged copy, WAL and spill folder,
    named after a process that no longer runs. Returns what was removed."""
    removed = []
    for path in serving_db.parent.glob(f".{serving_db.name}.*.new*"):
        pid = path.name.removeprefix(f".{serving_db.name}.").split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            if path.is_dir():  # what its in-memory connection spilled
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
            log.warning("removed %s, left by a publish that did not finish (process %s)", path, pid)
    return removed


def publish(paths: Paths) -> dict[str, int]:
    """Copy every table of ``marts`` from the warehouse into a fresh serving file and swap it in.

    The new file is written in DuckDB 1.4's storage format (``serving.STORAGE_VERSION``) with each
    table's definition as dbt's contract made it (types, NOT NULL, primary keys), its rows, and the
    table and column comments; it is made read-only (mode 0444) before the rename.
    Returns the row count of each published table.
    """
    import duckdb

    if not paths.warehouse_db.exists():
        raise PipelineError(f"{paths.warehouse_db} does not exist: load and transform a month first")
    remove_stale_staged_files(paths.serving_db)
    staged = paths.serving_db.with_name(f".{paths.serving_db.name}.{os.getpid()}.new")
    staged.unlink(missing_ok=True)
    spill = staged.with_name(staged.name + ".tmp")
    counts: dict[str, int] = {}
    try:
        # In memory, with anything it spills beside the staged file rather than in the cwd.
        with contextlib.closing(duckdb.connect(config={"temp_directory": str(spill)})) as con:
            con.execute(
                f"attach {_literal(str(staged))} as serving (storage_version {_literal(STORAGE_VERSION)})"
            )
            con.execute(f"attach {_literal(str(paths.warehouse_db))} as build (read_only)")
            con.execute("use serving")
            tables = con.execute(
                "select table_name, sql, comment from duckdb_tables() "
                "where database_name = 'build' and schema_name = ? order by table_name",
                [PUBLISHED_SCHEMA],
            ).fetchall()
            if not tables:
                raise PipelineError(
                    f"the warehouse has no tables in schema {PUBLISHED_SCHEMA!r}: run dbt first"
                )
            con.execute(f"create schema {PUBLISHED_SCHEMA}")
            for table, definition, comment in tables:
                target = f"{PUBLISHED_SCHEMA}.{_quote(table)}"
                # duckdb_tables().sql is "CREATE TABLE marts.<name>(...)": it creates the table in
                # the current database, the staged file.
                con.execute(definition)
                con.execute(f"insert into {target} select * from build.{PUBLISHED_SCHEMA}.{_quote(table)}")
                if comment:
                    con.execute(f"comment on table {target} is {_literal(comment)}")
                columns = con.execute(
                    "select column_name, comment from duckdb_columns() where database_name = 'build' "
                    "and schema_name = ? and table_name = ? and comment is not null",
                    [PUBLISHED_SCHEMA, table],
                ).fetchall()
                for column, column_comment in columns:
                    con.execute(f"comment on column {target}.{_quote(column)} is {_literal(column_comment)}")
                (counts[table],) = con.execute(f"select count(*) from {target}").fetchall()[0]
            con.execute("use memory")
            con.execute("detach build")
            con.execute("checkpoint serving")
            con.execute("detach serving")
        os.chmod(staged, FILE_MODE)
        with staged.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(staged, paths.serving_db)
        fsync_dir(paths.serving_db.parent)
    finally:
        staged.unlink(missing_ok=True)
        staged.with_name(staged.name + ".wal").unlink(missing_ok=True)
        shutil.rmtree(spill, ignore_errors=True)
    summary = ", ".join(f"{name} ({rows} rows)" for name, rows in counts.items())
    log.info("published %s (DuckDB %s storage, read-only): %s", paths.serving_db, STORAGE_VERSION, summary)
    return counts
