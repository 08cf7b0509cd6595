"""Publish the marts: a new ``serving.duckdb`` built beside the old one, then renamed into place.

Users and BI tools only ever open ``serving.duckdb`` (read-only). It is written as a new file and
swapped in with an atomic rename, so a reader never waits on the pipeline's writer lock and never
sees half a month: a connection already open keeps reading the previous file until it reconnects.
Only the ``marts`` schema is published, with its table and column comments (the dbt docs).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from critmin.errors import PipelineError
from critmin.warehouse import connect
from critmin.warehouse.lease import process_alive

if TYPE_CHECKING:
    from pathlib import Path

    from critmin.settings import Paths

log = logging.getLogger(__name__)

PUBLISHED_SCHEMA = "marts"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_staged_files(serving_db: Path) -> list[Path]:
    """Remove what a killed publish left beside ``serving.duckdb``: its staged copy and WAL,
    named after a process that no longer runs. Returns what was removed."""
    removed = []
    for path in serving_db.parent.glob(f".{serving_db.name}.*.new*"):
        pid = path.name.removeprefix(f".{serving_db.name}.").split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            path.unlink(missing_ok=True)
            removed.append(path)
            log.warning("removed %s, left by a publish that did not finish (process %s)", path, pid)
    return removed


def publish(paths: Paths) -> dict[str, int]:
    """Copy every table of ``marts`` from the warehouse into a fresh serving file and swap it in.

    Returns the row count of each published table.
    """
    if not paths.warehouse_db.exists():
        raise PipelineError(f"{paths.warehouse_db} does not exist: load and transform a month first")
    remove_stale_staged_files(paths.serving_db)
    staged = paths.serving_db.with_name(f".{paths.serving_db.name}.{os.getpid()}.new")
    staged.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    try:
        with connect(staged) as serving:
            serving.execute(f"attach {_literal(str(paths.warehouse_db))} as build (read_only)")
            tables = serving.execute(
                "select table_name, comment from duckdb_tables() "
                "where database_name = 'build' and schema_name = ? order by table_name",
                [PUBLISHED_SCHEMA],
            ).fetchall()
            if not tables:
                raise PipelineError(
                    f"the warehouse has no tables in schema {PUBLISHED_SCHEMA!r}: run dbt first"
                )
            serving.execute(f"create schema {PUBLISHED_SCHEMA}")
            for table, comment in tables:
                target = f"{PUBLISHED_SCHEMA}.{_quote(table)}"
                serving.execute(
                    f"create table {target} as select * from build.{PUBLISHED_SCHEMA}.{_quote(table)}"
                )
                if comment:
                    serving.execute(f"comment on table {target} is {_literal(comment)}")
                columns = serving.execute(
                    "select column_name, comment from duckdb_columns() where database_name = 'build' "
                    "and schema_name = ? and table_name = ? and comment is not null",
                    [PUBLISHED_SCHEMA, table],
                ).fetchall()
                for column, column_comment in columns:
                    serving.execute(
                        f"comment on column {target}.{_quote(column)} is {_literal(column_comment)}"
                    )
                (counts[table],) = serving.execute(f"select count(*) from {target}").fetchall()[0]
            serving.execute("detach build")
            serving.execute("checkpoint")
        with staged.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(staged, paths.serving_db)
        _fsync_dir(paths.serving_db.parent)
    finally:
        staged.unlink(missing_ok=True)
        staged.with_name(staged.name + ".wal").unlink(missing_ok=True)
    summary = ", ".join(f"{name} ({rows} rows)" for name, rows in counts.items())
    log.info("published %s: %s", paths.serving_db, summary)
    return counts
