"""A BI tool's view of serving.duckdb: runs in an isolated client environment (tests/bi/duckdb-*/),
with the driver stack Apache Superset uses (SQLAlchemy 1.4, duckdb-engine, DuckDB 1.x) and a new
connection for every query, as Superset opens them.

    python client.py describe URI CONNECT_ARGS_JSON
    python client.py attempts URI CONNECT_ARGS_JSON WORKDIR
    python client.py one-process URI CONNECT_ARGS_JSON
    python client.py poll URI CONNECT_ARGS_JSON OUT_JSONL STOP_FILE

Each prints (or writes) JSON; tests/bi_clients.py runs it and tests/test_bi_clients.py and
tests/test_end_to_end.py check what it saw. Only the standard library, SQLAlchemy and DuckDB here.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import duckdb
import sqlalchemy
from sqlalchemy import inspect, text
from sqlalchemy.pool import NullPool

#: One published state of the marts, read in one query: which months the monthly facts hold, and
#: totals across two tables (a mixture of two files would show as a state never published).
STATE_SQL = """
select
    (select string_agg(m, ',' order by m)
     from (select distinct strftime(month, '%Y-%m') as m from marts.fct_magnet_exports_monthly)) as months,
    (select count(*) from marts.fct_magnet_exports_monthly) as fact_rows,
    (select cast(sum(quantity_t) as varchar) from marts.fct_magnet_exports_monthly) as tonnes,
    (select count(*) from marts.dim_policy_event) as policy_events
"""


def engine(uri: str, connect_args: dict) -> sqlalchemy.engine.Engine:
    # NullPool: every connect() opens the file anew and close() really closes it.
    return sqlalchemy.create_engine(uri, connect_args=connect_args, poolclass=NullPool)


def describe(uri: str, connect_args: dict) -> dict:
    eng = engine(uri, connect_args)
    inspector = inspect(eng)
    tables = sorted(inspector.get_table_names(schema="marts"))
    columns = {
        column["name"]: str(column["type"])
        for column in inspector.get_columns("fct_magnet_exports_monthly", schema="marts")
    }
    with eng.connect() as connection:
        row = connection.execute(
            text(
                "select month, quantity_t from marts.fct_magnet_exports_monthly "
                "where quantity_t is not null order by month desc limit 1"
            )
        ).one()
        counts = {
            table: connection.execute(text(f'select count(*) from marts."{table}"')).scalar_one()
            for table in tables
        }
        commented = connection.execute(
            text("select count(*) from duckdb_columns() where schema_name = 'marts' and comment is not null")
        ).scalar_one()
        table_comment = connection.execute(
            text(
                "select comment from duckdb_tables() "
                "where schema_name = 'marts' and table_name = 'fct_magnet_exports_monthly'"
            )
        ).scalar_one()
    return {
        "duckdb": duckdb.__version__,
        "sqlalchemy": sqlalchemy.__version__,
        "tables": tables,
        "columns": columns,
        "month_python_type": type(row[0]).__name__,
        "quantity_python_type": type(row[1]).__name__,
        "latest": [str(row[0]), str(row[1])],
        "counts": counts,
        "commented_columns": commented,
        "table_comment": table_comment,
    }


def attempts(uri: str, connect_args: dict, workdir: Path) -> dict:
    """Try what a read-only connection must not do; report each as refused (with the error) or not.

    ``workdir`` holds the targets: the file COPY would write, the file read_text would read, the
    database an ATTACH would write into."""
    secret = workdir / "secret.txt"
    secret.write_text("not for BI users\n")
    other = workdir / "other.duckdb"
    duckdb.connect(str(other)).close()
    spill = Path(uri.removeprefix("duckdb:///") + ".tmp")  # DuckDB's default spill folder
    spill.mkdir(exist_ok=True)  # a folder readers can write, as beside a file in a user's home
    tries = {
        "copy_to_file": f"copy (select 1 as x) to '{workdir / 'out.csv'}'",
        "copy_to_spill_folder": f"copy (select 1 as x) to '{spill / 'out.csv'}'",
        "set_temp_directory": f"set temp_directory = '{workdir}'",
        "read_text": f"select * from read_text('{secret}')",
        "read_csv": f"select * from read_csv('{secret}')",
        "attach_read_write": f"attach '{other}' as other (read_only false); create table other.t as select 1",
        "delete_rows": "delete from marts.fct_magnet_exports_monthly",
        "create_table": "create table marts.t as select 1 as x",
        "enable_external_access": "set enable_external_access = true",
        "install_extension": "install httpfs",
        "load_extension": "load httpfs",
    }
    eng = engine(uri, connect_args)
    report: dict[str, object] = {}
    for name, sql in tries.items():
        try:
            with eng.connect() as connection:
                for statement in sql.split("; "):
                    connection.execute(text(statement))
            report[name] = "succeeded"
        except Exception as error:  # noqa: BLE001 - any refusal counts; the message is reported
            report[name] = "refused: " + str(error).splitlines()[0][:300]
    with eng.connect() as connection:
        report["query"] = connection.execute(
            text("select count(*) from marts.fct_magnet_exports_monthly")
        ).scalar_one()
        report["schemas"] = sorted(inspect(connection).get_schema_names())
    with duckdb.connect(str(other), read_only=True) as check:
        tables = check.execute("select table_name from duckdb_tables()").fetchall()
    report["other_tables"] = [row[0] for row in tables]
    targets = {"secret.txt", "other.duckdb"}
    report["files_written"] = sorted(p.name for p in workdir.iterdir() if p.name not in targets)
    report["spill_files_written"] = sorted(p.name for p in spill.iterdir())
    if not report["spill_files_written"]:
        spill.rmdir()
    return report


def one_process(uri: str, connect_args: dict) -> dict:
    """The guide's way to use SQLAlchemy and DuckDB's own API in one process: one engine, and
    DuckDB's API through its connection (a second ``duckdb.connect`` with other settings fails)."""
    eng = engine(uri, connect_args)
    with eng.connect() as connection:
        through_sqlalchemy = connection.execute(text("select count(*) from marts.fct_magnet_exports_monthly"))
        counted = through_sqlalchemy.scalar_one()
    raw = eng.raw_connection()
    try:
        con = raw.driver_connection
        (duckdb_counted,) = con.sql("select count(*) from marts.fct_magnet_exports_monthly").fetchone()
    finally:
        raw.close()
    return {"sqlalchemy": counted, "duckdb": duckdb_counted}


#: The poller looks for a publish every 0.05 s (cheap: a stat and a directory listing) and queries
#: at each look while one is under way (a staged file beside serving.duckdb, or the file swapped
#: less than a second ago), where a reader could meet it; between publishes it queries every
#: 0.5 s, which still sees each published state (every state stands for seconds). Querying every
#: 0.05 s throughout cost a third of a core all through the demo.
LOOK_INTERVAL = 0.05
IDLE_QUERY_INTERVAL = 0.5
AFTER_A_SWAP = 1.0


def _identity(database: Path) -> tuple[int, int] | None:
    try:
        status = database.stat()
    except FileNotFoundError:
        return None
    return status.st_ino, status.st_mtime_ns


def poll(uri: str, connect_args: dict, out: Path, stop_file: Path) -> None:
    """Read the marts' state with a new connection per query until ``stop_file`` appears.

    Each line of ``out``: {"t": seconds, "state": [...]} or {"t": ..., "absent": true} before the
    first publish, or {"t": ..., "error": "..."}; with "publish": "staged" when a staged file stood
    beside the database as the query started, or "just swapped"."""
    eng = engine(uri, connect_args)
    database = Path(uri.removeprefix("duckdb:///"))
    staged = f".{database.name}.*.new"  # critmin.publish builds the next file beside, then renames
    started = time.monotonic()
    seen, swapped_until, queried = _identity(database), 0.0, float("-inf")
    with out.open("w", encoding="utf-8") as log:
        print(json.dumps({"t": 0, "ready": duckdb.__version__}), file=log, flush=True)
        while not stop_file.exists():
            now = time.monotonic()
            identity = _identity(database)
            if identity != seen:
                seen, swapped_until = identity, now + AFTER_A_SWAP
            staging = any(database.parent.glob(staged))
            publishing = staging or now < swapped_until
            if not (publishing or now - queried >= IDLE_QUERY_INTERVAL):
                time.sleep(LOOK_INTERVAL)
                continue
            queried = now
            line: dict[str, object] = {"t": round(now - started, 3)}
            if publishing:
                line["publish"] = "staged" if staging else "just swapped"
            if identity is None:
                line["absent"] = True
            else:
                try:
                    with eng.connect() as connection:
                        line["state"] = list(connection.execute(text(STATE_SQL)).one())
                except Exception as error:  # noqa: BLE001 - every error is what the test counts
                    line["error"] = f"{type(error).__name__}: {error}"
            print(json.dumps(line), file=log, flush=True)
            time.sleep(LOOK_INTERVAL)


def main(argv: list[str]) -> int:
    command, uri, connect_args = argv[0], argv[1], json.loads(argv[2])
    if command == "describe":
        print(json.dumps(describe(uri, connect_args)))
    elif command == "attempts":
        print(json.dumps(attempts(uri, connect_args, Path(argv[3]))))
    elif command == "one-process":
        print(json.dumps(one_process(uri, connect_args)))
    elif command == "poll":
        poll(uri, connect_args, Path(argv[3]), Path(argv[4]))
    else:
        print(f"unknown command {command!r}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main(sys.argv[1:]))
