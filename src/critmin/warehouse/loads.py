"""What the sources hand the warehouse, and the warehouse's own record of it.

A *load* replaces one unit of the warehouse in one transaction: a customs data month (its
partitions of the raw tables) or the registers (every register table), together with the gate
results that go with it. ``audit.loads`` records, for each unit, the run whose load is in place,
when it passed its gates and when it was published; the load writes that row in its own
transaction, and keeps what it replaced (rows, results, the record's row, the registers' dbt
snapshot) in ``*__before_load`` tables.

``put_back`` restores all of a unit together, in one transaction, and only while the load in place
is the given run's and unpublished: whoever calls it (the run's own clean-up, the next run's
recovery, an operator) cannot undo another run's load or a published one, and calling it twice is
harmless. ``blocking_loads`` is what publishing checks, in the same snapshot it copies the marts
from: every load in the warehouse is either published or gated by the publishing run.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from critmin.errors import PipelineError
from critmin.months import Month
from critmin.warehouse.builds import forget_whole_build
from critmin.warehouse.connection import append_frame, append_parquet, insert_rows, transaction, writing
from critmin.warehouse.runs import REGISTERS, RunRef
from critmin.warehouse.tables import (
    GACC_EXPORT_FILES,
    GACC_EXPORT_ROWS,
    GACC_TABLE_FIGURES,
    GACC_TABLE_FILES,
    LOADS,
    PARTITIONED,
    QUALITY_RESULTS,
    REGISTER_SNAPSHOTS,
    REGISTER_TABLES,
    backup_of,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence
    from pathlib import Path

    import duckdb
    import pandas as pd

log = logging.getLogger(__name__)

#: The run a load is recorded under when the caller names none (tests, tools loading directly).
DIRECT = ("critmin", "direct-load")


# --- units ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """The rows of one table that belong to a unit."""

    table: str
    where: str
    params: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Unit:
    """What one load replaces and one put-back restores: its tables' rows, its gate results, its
    row of the record, and (registers) the dbt snapshots built from it, kept whole."""

    what: str
    parts: tuple[Part, ...]
    snapshots: tuple[str, ...] = ()


def unit_of(what: str) -> Unit:
    """The unit named ``what``: ``registers``, a customs data month ``YYYY-MM``, or a release
    month of the commodity tables ``tables:YYYY-MM``."""
    own = (Part(QUALITY_RESULTS, "what = ?", (what,)), Part(LOADS, "what = ?", (what,)))
    if what == REGISTERS:
        return Unit(what, (*(Part(t, "true") for t in REGISTER_TABLES), *own), REGISTER_SNAPSHOTS)
    prefix, _, month = what.rpartition(":")
    tables, column = PARTITIONED[f"{prefix}:" if prefix else ""]
    day = Month.parse(month).first_day
    return Unit(what, (*(Part(table, f"{column} = ?", (day,)) for table in tables), *own))


def tables_unit(month: Month) -> str:
    """The record of loads' name for a release month of the commodity tables."""
    return f"tables:{month}"


def _exists(connection: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".", 1)
    row = connection.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    return bool(row and row[0])


def _back_up(connection: duckdb.DuckDBPyConnection, unit: Unit) -> None:
    for part in unit.parts:
        backup = backup_of(part.table)
        connection.execute(f"delete from {backup} where {part.where}", part.params)
        connection.execute(
            f"insert into {backup} by name select * from {part.table} where {part.where}", part.params
        )
    for snapshot in unit.snapshots:
        backup = backup_of(snapshot)
        if _exists(connection, snapshot):
            connection.execute(f"create or replace table {backup} as from {snapshot}")
        else:  # no version recorded yet: putting back means having none
            connection.execute(f"drop table if exists {backup}")


def _restore(connection: duckdb.DuckDBPyConnection, unit: Unit) -> None:
    for part in unit.parts:
        connection.execute(f"delete from {part.table} where {part.where}", part.params)
        connection.execute(
            f"insert into {part.table} by name select * from {backup_of(part.table)} where {part.where}",
            part.params,
        )
    for snapshot in unit.snapshots:
        backup = backup_of(snapshot)
        if _exists(connection, backup):
            connection.execute(f"create schema if not exists {snapshot.split('.', 1)[0]}")
            connection.execute(f"create or replace table {snapshot} as from {backup}")
        else:
            connection.execute(f"drop table if exists {snapshot}")
    forget_whole_build(connection)


# --- the record -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadRecord:
    """One row of ``audit.loads``: the load of ``what`` in place, by which run, how far it got."""

    what: str
    dag_id: str
    run_id: str
    loaded_at: datetime
    gated_at: datetime | None
    publishing_serving: str | None
    published_at: datetime | None

    @property
    def run(self) -> RunRef:
        return RunRef(self.dag_id, self.run_id, self.what)

    def is_by(self, run: RunRef) -> bool:
        return (self.dag_id, self.run_id) == (run.dag_id, run.run_id)

    @property
    def state(self) -> str:
        if self.published_at is not None:
            return "published"
        return "gated, not published" if self.gated_at is not None else "not gated"

    def describe(self) -> str:
        by = f"{self.dag_id} run {self.run_id}"
        return f"{self.what} (loaded by {by} at {_when(self.loaded_at)}, {self.state})"


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


_COLUMNS = "what, dag_id, run_id, loaded_at, gated_at, publishing_serving, published_at"


def _records(
    connection: duckdb.DuckDBPyConnection, where: str = "true", params: Sequence[Any] = (), database: str = ""
) -> list[LoadRecord]:
    table = f"{database}.{LOADS}" if database else LOADS
    rows = connection.execute(
        f"select {_COLUMNS} from {table} where {where} order by what", params
    ).fetchall()
    return [LoadRecord(*row) for row in rows]


def _record(connection: duckdb.DuckDBPyConnection, what: str) -> LoadRecord | None:
    found = _records(connection, "what = ?", [what])
    return found[0] if found else None


def load_records(path: Path) -> list[LoadRecord]:
    """Every unit's load in place (``audit.loads``)."""
    with writing(path) as connection:
        return _records(connection)


def unpublished_loads(path: Path) -> list[LoadRecord]:
    """The loads in place that have not been published: at most the lease holder's, between runs."""
    with writing(path) as connection:
        return _records(connection, "published_at is null")


def blocking_loads(
    connection: duckdb.DuckDBPyConnection, run: RunRef | None, database: str = ""
) -> list[LoadRecord]:
    """The loads a publish by ``run`` must not ship: those neither published nor gated by ``run``
    (all unpublished ones when ``run`` is None). Read through the caller's connection, so the check
    sees the same snapshot of the warehouse as the copy it guards."""
    if run is None:
        return _records(connection, "published_at is null", database=database)
    return _records(
        connection,
        "published_at is null and not (dag_id = ? and run_id = ? and gated_at is not null)",
        [run.dag_id, run.run_id],
        database=database,
    )


@contextmanager
def begin_load(path: Path, unit: Unit, run: RunRef | None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Replace ``unit`` with what the block inserts, in one transaction, recording the load as
    ``run``'s (not yet gated). What it replaces is kept aside for ``put_back``; a retry of the same
    run keeps the copy its first try took (the unit in place is then that run's own, never gated).
    An exception in the block rolls everything back."""
    dag_id, run_id = (run.dag_id, run.run_id) if run is not None else DIRECT
    with writing(path) as connection, transaction(connection):
        current = _record(connection, unit.what)
        retried = current is not None and (current.dag_id, current.run_id) == (dag_id, run_id)
        if not (retried and current is not None and current.published_at is None):
            _back_up(connection, unit)
        for part in unit.parts:
            connection.execute(f"delete from {part.table} where {part.where}", part.params)
        insert_rows(
            connection,
            LOADS,
            [{"what": unit.what, "dag_id": dag_id, "run_id": run_id, "loaded_at": datetime.now(UTC)}],
        )
        yield connection


class LoadNotInPlace(PipelineError):
    """The run's load is no longer the one in place (another run put it back or replaced it)."""


def mark_gated(
    path: Path, run: RunRef, results: Iterable[Mapping[str, Any]] = (), month: Month | None = None
) -> int:
    """The run's load passed its gates: record the gate's ``results`` (under data ``month``, by
    default the unit's) and the gate time, in one transaction. Raises ``LoadNotInPlace`` when the
    load in place is not the run's, unpublished. Returns the number of results recorded."""
    with writing(path) as connection, transaction(connection):
        current = _record(connection, run.what)
        if current is None or not current.is_by(run) or current.published_at is not None:
            raise LoadNotInPlace(
                f"{run}: the warehouse no longer holds this run's load of {run.what} "
                f"(in place: {current.describe() if current else 'nothing'})"
            )
        results = list(results)
        day = (month or Month.parse(run.what)).first_day if results else None
        written = _insert_results(connection, day, run.what, results)
        connection.execute(f"update {LOADS} set gated_at = ? where what = ?", [datetime.now(UTC), run.what])
    return written


def put_back(path: Path, run: RunRef) -> bool:
    """Put back what ``run`` loaded (its unit's rows, results, record and snapshots, as they were
    before its load), if the load in place is still the run's and unpublished. Returns whether
    anything was put back; False when there was nothing of the run's to undo."""
    with writing(path) as connection, transaction(connection):
        current = _record(connection, run.what)
        if current is None or not current.is_by(run) or current.published_at is not None:
            return False
        _restore(connection, unit_of(run.what))
        previous = _record(connection, run.what)
    log.warning(
        "put back %s as it was before %s loaded it: %s",
        run.what,
        run,
        previous.describe() if previous else "nothing was loaded for it before",
    )
    return True


def mark_publishing(path: Path, run: RunRef, staged_identity: str) -> None:
    """Before the swap: the run's loads go out with the staged file ``staged_identity``."""
    with writing(path) as connection:
        connection.execute(
            f"update {LOADS} set publishing_serving = ? "
            "where dag_id = ? and run_id = ? and published_at is null",
            [staged_identity, run.dag_id, run.run_id],
        )


def mark_published(path: Path, run: RunRef) -> None:
    """After the swap: the run's loads are what users see."""
    with writing(path) as connection:
        connection.execute(
            f"update {LOADS} set published_at = ?, publishing_serving = null "
            "where dag_id = ? and run_id = ? and published_at is null",
            [datetime.now(UTC), run.dag_id, run.run_id],
        )


def settle_publishing(path: Path, serving_identity: str | None) -> list[LoadRecord]:
    """Finish the record of a publish that was stopped between its swap and ``mark_published``:
    loads whose staged file is now ``serving.duckdb`` (``serving_identity``) were published; for
    any other, the swap never happened. Returns the loads found published."""
    with writing(path) as connection, transaction(connection):
        found = _records(
            connection, "publishing_serving is not null and publishing_serving = ?", [serving_identity]
        )
        connection.execute(
            f"update {LOADS} set published_at = ?, publishing_serving = null where publishing_serving = ?",
            [datetime.now(UTC), serving_identity],
        )
        connection.execute(
            f"update {LOADS} set publishing_serving = null where publishing_serving is not null"
        )
    return found


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
        _insert_results(self.connection, self.month.first_day, str(self.month), results)


@contextmanager
def customs_month_load(path: Path, month: Month, run: RunRef | None = None) -> Iterator[CustomsMonthLoad]:
    """Replace the month's customs partition (and its gate results) with what the block adds, in
    one transaction, as ``run``'s load. An exception in the block leaves the month as it was."""
    with begin_load(path, unit_of(str(month)), run) as connection:
        yield CustomsMonthLoad(connection, month)


# --- commodity tables -----------------------------------------------------------------------------


class TablesReleaseLoad:
    """A release month's figures and tables being written, inside ``tables_release_load``."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, month: Month) -> None:
        self.connection = connection
        self.month = month
        self.figures = 0

    def add_figures(self, rows: Sequence[Mapping[str, Any]]) -> None:
        fixed = {"release_month": self.month.first_day}
        insert_rows(self.connection, GACC_TABLE_FIGURES, [{**row, **fixed} for row in rows])
        self.figures += len(rows)

    def add_file(self, file: Mapping[str, Any]) -> None:
        insert_rows(self.connection, GACC_TABLE_FILES, [{**file, "release_month": self.month.first_day}])

    def record_results(self, results: Iterable[Mapping[str, Any]]) -> None:
        _insert_results(self.connection, self.month.first_day, tables_unit(self.month), results)


@contextmanager
def tables_release_load(path: Path, month: Month, run: RunRef | None = None) -> Iterator[TablesReleaseLoad]:
    """Replace a release month's commodity-table figures (and their gate results) with what the
    block adds, in one transaction, as ``run``'s load."""
    with begin_load(path, unit_of(tables_unit(month)), run) as connection:
        yield TablesReleaseLoad(connection, month)


# --- registers ------------------------------------------------------------------------------------


def replace_registers(
    path: Path,
    rows: Mapping[str, Sequence[Mapping[str, Any]]],
    month: Month,
    results: Iterable[Mapping[str, Any]],
    run: RunRef | None = None,
) -> None:
    """Replace every register table with ``rows`` (table -> column dicts), in one transaction, as
    ``run``'s load, with the gate's results recorded under the run's ``month``."""
    unknown = set(rows) - set(REGISTER_TABLES)
    if unknown:
        raise KeyError(f"not register tables: {sorted(unknown)}")
    with begin_load(path, unit_of(REGISTERS), run) as connection:
        for table in REGISTER_TABLES:
            insert_rows(connection, table, rows.get(table, ()))
        _insert_results(connection, month.first_day, REGISTERS, results)


# --- data-quality results -------------------------------------------------------------------------


def _insert_results(
    connection: duckdb.DuckDBPyConnection, day: Any, what: str, results: Iterable[Mapping[str, Any]]
) -> int:
    """Record gate results for the load ``what`` (inside the caller's transaction), replacing the
    load's earlier results of the same datasets. Returns the number of rows written."""
    results = list(results)
    validated_at = datetime.now(UTC)
    for dataset in sorted({r["dataset"] for r in results}):
        connection.execute(f"delete from {QUALITY_RESULTS} where what = ? and dataset = ?", [what, dataset])
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
                "what": what,
            }
            for r in results
        ],
    )
    return len(results)
