"""Publish the marts: a new ``serving.duckdb`` built beside the old one, then renamed into place.

Users and BI tools only ever open ``serving.duckdb`` (read-only). It is written as a new file and
swapped in with an atomic rename, so a reader never waits on the pipeline's writer lock and never
sees half a month: a connection already open keeps reading the previous file until it reconnects.
Only the ``marts`` schema is published, with its table and column comments (the dbt docs), in a
storage format every maintained DuckDB client reads (see ``critmin.serving``).

What may be published is checked from the warehouse's own record of loads (``audit.loads``), in the
same snapshot the marts are copied from: every load in the warehouse must be published already or
gated by the publishing run. A load that never passed its gates (a run that died or lost the
warehouse) stops the publish, whatever any lock file says. The record says which run's loads go
out with which staged file before the swap, so a publish stopped between its swap and its record
is recognised (``critmin.warehouse.lease``) rather than undone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from typing import TYPE_CHECKING

from critmin.errors import PipelineError
from critmin.files import file_identity, fsync_dir
from critmin.processes import process_alive
from critmin.serving import FILE_MODE, PUBLISHED_SCHEMA, STORAGE_VERSION
from critmin.warehouse.connection import resources
from critmin.warehouse.lease import release_command
from critmin.warehouse.loads import blocking_loads, mark_published, mark_publishing
from critmin.warehouse.tables import LOADS, WHOLE_BUILDS

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import duckdb

    from critmin.settings import Paths
    from critmin.warehouse.runs import RunRef

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


class PublishRefused(PipelineError):
    """The warehouse holds a load the publishing run may not ship: serving.duckdb is unchanged."""


def _has_table(con: duckdb.DuckDBPyConnection, database: str, table: str) -> bool:
    schema, name = table.split(".", 1)
    row = con.execute(
        "select count(*) from duckdb_tables() where database_name = ? and schema_name = ? and table_name = ?",
        [database, schema, name],
    ).fetchone()
    return bool(row and row[0])


def check_publishable(con: duckdb.DuckDBPyConnection, run: RunRef | None, database: str = "build") -> None:
    """Refuse (``PublishRefused``) unless every load in the warehouse attached as ``database`` is
    published or gated by ``run``, and the marts were built since the last put-back."""
    if not _has_table(con, database, LOADS):
        return  # nothing was ever loaded through the pipeline
    who = str(run) if run is not None else "this publish"
    blocked = blocking_loads(con, run, database)
    if blocked:
        listed = "; ".join(record.describe() for record in blocked)
        frees = ", or ".join(f"`{release_command(record.run)}`" for record in blocked)
        raise PublishRefused(
            f"{who}: not publishing: the warehouse holds loads that this run did not gate and that "
            f"were never published: {listed}. serving.duckdb is unchanged. The next run that takes "
            f"the warehouse puts them back; once their runs are gone, so does {frees}."
        )
    loads = con.execute(f"select count(*) from {database}.{LOADS}").fetchone()
    builds = (
        con.execute(f"select count(*) from {database}.{WHOLE_BUILDS}").fetchone()
        if _has_table(con, database, WHOLE_BUILDS)
        else (1,)
    )
    if loads and loads[0] and builds and not builds[0]:
        raise PublishRefused(
            f"{who}: not publishing: a load was put back since the marts were last built, so they "
            "may still show it. serving.duckdb is unchanged; the next run's build rebuilds them."
        )


def publish(
    paths: Paths, run: RunRef | None = None, before_swap: Callable[[], None] | None = None
) -> dict[str, int]:
    """Copy every table of ``marts`` from the warehouse into a fresh serving file and swap it in,
    for ``run``: refused (``PublishRefused``) unless every load is published or gated by ``run``.

    The new file is written in DuckDB 1.4's storage format (``serving.STORAGE_VERSION``) with each
    table's definition as dbt's contract made it (types, NOT NULL, primary keys), its rows, and the
    table and column comments; it is made read-only (mode 0444) before the rename.
    ``before_swap`` runs just before the rename (the step checks there that its run still holds
    the warehouse). Returns the row count of each published table.
    """
    import duckdb

    if not paths.warehouse_db.exists():
        raise PipelineError(f"{paths.warehouse_db} does not exist: load and transform a month first")
    paths.serving_db.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staged_files(paths.serving_db)
    staged = paths.serving_db.with_name(f".{paths.serving_db.name}.{os.getpid()}.new")
    staged.unlink(missing_ok=True)
    spill = staged.with_name(staged.name + ".tmp")
    counts: dict[str, int] = {}
    try:
        # In memory, with anything it spills beside the staged file rather than in the cwd.
        config = resources()
        config["temp_directory"] = str(spill)
        with contextlib.closing(duckdb.connect(config=config)) as con:
            con.execute(
                f"attach {_literal(str(staged))} as serving (storage_version {_literal(STORAGE_VERSION)})"
            )
            con.execute(f"attach {_literal(str(paths.warehouse_db))} as build (read_only)")
            # Attached read-only, the build cannot change (no process can write it meanwhile): the
            # check and the copy see the same warehouse.
            check_publishable(con, run)
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
            # One transaction for the copy: alone, each of its two hundred statements (a table, its
            # rows, a comment) would commit on its own, a sixth of the copy's time.
            con.execute("begin transaction")
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
            con.execute("commit")
            con.execute("use memory")
            con.execute("detach build")
            con.execute("checkpoint serving")
            con.execute("detach serving")
        os.chmod(staged, FILE_MODE)
        with staged.open("rb") as handle:
            os.fsync(handle.fileno())
        if before_swap is not None:
            before_swap()
        if run is not None:
            mark_publishing(paths.warehouse_db, run, file_identity(staged) or "")
        os.replace(staged, paths.serving_db)
        fsync_dir(paths.serving_db.parent)
        if run is not None:
            mark_published(paths.warehouse_db, run)
    finally:
        staged.unlink(missing_ok=True)
        staged.with_name(staged.name + ".wal").unlink(missing_ok=True)
        shutil.rmtree(spill, ignore_errors=True)
    summary = ", ".join(f"{name} ({rows} rows)" for name, rows in counts.items())
    log.info("published %s (DuckDB %s storage, read-only): %s", paths.serving_db, STORAGE_VERSION, summary)
    return counts
