"""Whether every dbt model in the warehouse is current: the condition for rebuilding only part.

A customs run changes one month of the customs tables; a registers run changes the registers.
Every model that does not descend from what a run loaded is then unchanged, provided it was built
from the current raw tables by the current dbt project. ``audit.whole_builds`` records the project
(by fingerprint) of the last whole build; every restore (a failed or dead run's load put back)
clears it, so the next build is whole again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from critmin.warehouse.connection import transaction, writing
from critmin.warehouse.tables import WHOLE_BUILDS

if TYPE_CHECKING:
    from pathlib import Path

    import duckdb


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


def forget_whole_build(connection: duckdb.DuckDBPyConnection) -> None:
    """Inside a restore's transaction: the models no longer match the raw tables."""
    connection.execute(f"delete from {WHOLE_BUILDS}")
