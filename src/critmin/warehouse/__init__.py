"""The one owner of ``warehouse.duckdb``: connections, transactions, every raw and audit table.

Sources hand rows to this module and never hold DDL or write SQL themselves. It owns

- the connections (``connect``) and transactions (``transaction``), so the file lock is always
  released for the next task;
- the tables dbt reads as sources (``raw.*``, ``audit.data_quality_results``), created empty on
  first use so either DAG can build the whole project on a new warehouse;
- the loads: ``customs_month_load`` replaces one month (``replace_registers`` the registers) in one
  transaction, records it in ``audit.loads`` and keeps what it replaced aside (``*__before_load``),
  so ``put_back`` can restore it when the run does not publish; publishing checks that record;
- the warehouse lease (``lease``): which run may write, from its load to its publish.

DuckDB allows one writing process per file, and a writer blocks even read-only readers, so the
pipeline opens ``warehouse.duckdb`` only from tasks in the one-slot warehouse pool, and users only
ever open ``serving.duckdb``. Keeping connection handling here keeps a later move to a multi-writer
engine (DuckLake, MotherDuck) small.

The package's parts: ``tables`` (every table's definition), ``connection`` (connections,
transactions, inserts), ``runs`` (which DAG run), ``loads`` (the loads, their record, put-back and
the gate results), ``lease`` (the lock between runs and the recovery of dead ones) and ``builds``
(whether every dbt model is current, so a run may rebuild only what its load changed).
"""

from critmin.warehouse.builds import (
    clear_months_to_build,
    mark_months_to_build,
    record_whole_build,
    start_whole_build,
    whole_build_fingerprint,
)
from critmin.warehouse.connection import (
    WarehouseLocked,
    append_frame,
    connect,
    query_frame,
    transaction,
    writing,
)
from critmin.warehouse.loads import (
    CustomsMonthLoad,
    LoadNotInPlace,
    LoadRecord,
    customs_month_load,
    load_records,
    mark_gated,
    put_back,
    replace_registers,
)
from critmin.warehouse.runs import REGISTERS, RunRef
from critmin.warehouse.tables import (
    BEFORE_LOAD,
    GACC_EXPORT_FILES,
    GACC_EXPORT_ROWS,
    QUALITY_RESULTS,
    REGISTER_TABLES,
    TABLES,
)

__all__ = [
    "BEFORE_LOAD",
    "REGISTERS",
    "GACC_EXPORT_FILES",
    "GACC_EXPORT_ROWS",
    "QUALITY_RESULTS",
    "REGISTER_TABLES",
    "TABLES",
    "CustomsMonthLoad",
    "LoadNotInPlace",
    "LoadRecord",
    "RunRef",
    "WarehouseLocked",
    "append_frame",
    "clear_months_to_build",
    "connect",
    "customs_month_load",
    "mark_months_to_build",
    "load_records",
    "mark_gated",
    "put_back",
    "query_frame",
    "record_whole_build",
    "replace_registers",
    "start_whole_build",
    "transaction",
    "whole_build_fingerprint",
    "writing",
]
