"""The one owner of ``warehouse.duckdb``: connections, transactions, every raw and audit table.

Sources hand rows to this module and never hold DDL or write SQL themselves. It owns

- the connections (``connect``) and transactions (``transaction``), so the file lock is always
  released for the next task;
- the tables dbt reads as sources (``raw.*``, ``audit.data_quality_results``), created empty on
  first use so either DAG can build the whole project on a new warehouse;
- the customs month partitions: ``customs_month_load`` replaces one month in one transaction and
  keeps the partition it replaced aside (``*__before_load``) until the month is published, so
  ``restore_customs_month`` can put it back when a later step fails.

DuckDB allows one writing process per file, and a writer blocks even read-only readers, so the
pipeline opens ``warehouse.duckdb`` only from tasks in the one-slot warehouse pool, and users only
ever open ``serving.duckdb``. Keeping connection handling here keeps a later move to a multi-writer
engine (DuckLake, MotherDuck) small.

The package's parts: ``tables`` (every table's definition), ``connection`` (connections,
transactions, inserts), ``loads`` (the customs month partitions, the registers, the results) and
``builds`` (whether every dbt model is current, so a run may rebuild only what its load changed).
"""

from critmin.warehouse.builds import (
    clear_months_to_build,
    mark_months_to_build,
    record_whole_build,
    whole_build_fingerprint,
)
from critmin.warehouse.connection import append_frame, connect, query_frame, transaction, writing
from critmin.warehouse.loads import (
    CustomsMonthLoad,
    customs_month_load,
    record_results,
    replace_registers,
    replace_results,
    restore_customs_month,
    restore_registers,
)
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
    "GACC_EXPORT_FILES",
    "GACC_EXPORT_ROWS",
    "QUALITY_RESULTS",
    "REGISTER_TABLES",
    "TABLES",
    "CustomsMonthLoad",
    "append_frame",
    "clear_months_to_build",
    "connect",
    "customs_month_load",
    "mark_months_to_build",
    "query_frame",
    "record_results",
    "record_whole_build",
    "replace_registers",
    "replace_results",
    "restore_customs_month",
    "restore_registers",
    "transaction",
    "whole_build_fingerprint",
    "writing",
]
