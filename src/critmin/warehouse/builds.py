"""Whether every dbt model in the warehouse is current: the condition for rebuilding only part.

A customs run changes one month of the customs tables; a registers run changes the registers.
Every model that does not descend from what a run loaded is then unchanged, provided it was built
from the current raw tables by the current dbt project. ``audit.whole_builds`` records the project
(by fingerprint) of the last whole build; every restore (a failed or dead run's load put back)
clears it, so the next build is whole again.

Within a build, ``audit.months_to_build`` says which data months the customs models recompute:
the month a run loaded (a partial build) or every loaded month (a whole build). The incremental
magnet exports fact replaces those months and the months whose changes they feed (the next month's
month-over-month, the same month next year's year-over-year); the data tests of the
month-partitioned views check those months only. A build that succeeds clears the list; one that
fails leaves it, and the next build recomputes those months too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from critmin.warehouse.connection import transaction, writing
from critmin.warehouse.tables import GACC_EXPORT_FILES, MONTHS_TO_BUILD, WHOLE_BUILDS

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    import duckdb

    from critmin.months import Month


def whole_build_fingerprint(path: Path) -> str | None:
    """The fingerprint of the dbt project the whole warehouse is built with, or None."""
    if not path.exists():
        return None
    with writing(path) as connection:
        row = connection.execute(f"select project_fingerprint from {WHOLE_BUILDS}").fetchone()
    return row[0] if row else None


def record_whole_build(path: Path, fingerprint: str) -> None:
    """Every model was just built, by the project with ``fingerprint``."""
    with writing(path) as connection, transaction(connection):
        connection.execute(f"delete from {WHOLE_BUILDS}")
        connection.execute(f"insert into {WHOLE_BUILDS} values (?, ?)", [fingerprint, datetime.now(UTC)])


def start_whole_build(path: Path) -> None:
    """A whole build begins: until it succeeds, no earlier one vouches for every model (a build
    that fails half way may leave some relations of the new project and some of the old)."""
    with writing(path) as connection:
        forget_whole_build(connection)


def forget_whole_build(connection: duckdb.DuckDBPyConnection) -> None:
    """Inside a restore's transaction: the models no longer match the raw tables."""
    connection.execute(f"delete from {WHOLE_BUILDS}")


def mark_months_to_build(path: Path, months: Iterable[Month] | None) -> list[str]:
    """Mark ``months`` for the next build to recompute; ``None`` marks every loaded month (a whole
    build). Returns every month marked, earlier unfinished builds' included, as YYYY-MM-DD."""
    now = datetime.now(UTC)
    with writing(path) as connection, transaction(connection):
        if months is None:
            connection.execute(
                f"insert into {MONTHS_TO_BUILD} select distinct data_month, ? from {GACC_EXPORT_FILES}", [now]
            )
        else:
            for month in months:
                connection.execute(f"insert into {MONTHS_TO_BUILD} values (?, ?)", [month.first_day, now])
        rows = connection.execute(f"select distinct data_month from {MONTHS_TO_BUILD} order by 1").fetchall()
    return [row[0].isoformat() for row in rows]


def clear_months_to_build(path: Path) -> None:
    """The build that recomputed the marked months succeeded."""
    with writing(path) as connection:
        connection.execute(f"delete from {MONTHS_TO_BUILD}")
