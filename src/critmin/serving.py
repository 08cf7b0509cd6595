"""``serving.duckdb``, the published file users and BI tools read: its format and how to open it.

The pipeline runs DuckDB 2.0, but most BI tools ship an older DuckDB (Apache Superset's
``duckdb`` extra requires ``duckdb<2``), and DuckDB cannot read a file written in a newer storage
format. So the serving file is written in the storage format of DuckDB 1.4, the long-term support
release: every maintained DuckDB client (1.4, 1.5, 2.0) opens it, comments and constraints
included. The warehouse, which only the pipeline opens, keeps the current format.

Read-only is not enough on its own: a read-only DuckDB connection can still write other files
(``COPY ... TO``), read any file the process can (``read_text('/etc/passwd')``) and attach another
database read-write. ``READER_CONFIG`` turns that off: a reader can query the marts, list the schema
and read the comments, and nothing else. Every reader in this package opens the file through
``open_serving``; docs/bi.md gives the same settings for BI tools, the DuckDB CLI, Python and
DBeaver, and tests/test_bi_clients.py proves each write or file access fails through them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    import duckdb

#: The storage format ``serving.duckdb`` is written in: DuckDB 1.4 (LTS) and every later release
#: read it. Raise it only when no supported BI stack ships a DuckDB older than the new version.
STORAGE_VERSION = "v1.4.0"

#: The one schema users see: every table in it is a dbt mart with an enforced contract.
PUBLISHED_SCHEMA = "marts"

#: The settings of a safe reader, besides ``read_only``: no file or network access beyond the
#: database itself. They cannot be switched back on from inside the connection. With external
#: access off, DuckDB 1.5 and later still let a query write files into the spill folder beside the
#: database (``serving.duckdb.tmp/``) when that folder is writable: no spill folder at all (a reader
#: of the small marts needs none; a query larger than memory fails instead of spilling).
READER_CONFIG: dict[str, Any] = {"enable_external_access": False, "temp_directory": ""}

#: The file's mode once published: readable by everyone, writable by no one (but root).
FILE_MODE = 0o444


def open_serving(path: Path) -> duckdb.DuckDBPyConnection:
    """A safe read-only connection to a serving file (the caller closes it)."""
    import duckdb

    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist yet: run `make demo` or a month first")
    return duckdb.connect(str(path), read_only=True, config=READER_CONFIG)
