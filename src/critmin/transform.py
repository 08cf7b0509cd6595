"""Run dbt (dbt-duckdb) in-process against ``warehouse.duckdb``.

One ``dbt build`` per data month, inside the single-slot warehouse pool. Per-model tasks (Cosmos
LOCAL) would start one dbt invocation per model per month; the warehouse is small and the models
are few, so one build is faster and holds the writer lock once. See README "Why one dbt task".
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from critmin.errors import PipelineError

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from critmin.settings import Settings

log = logging.getLogger(__name__)

#: The pipeline builds models, seeds and data tests; dbt unit tests check the SQL and run in `make test`.
PIPELINE_BUILD_ARGS = ("build", "--exclude-resource-type", "unit_test")


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_dbt(settings: Settings, args: Sequence[str]) -> Any:
    """Invoke dbt with the project's profile and state under ``$CRITMIN_HOME/dbt``.

    dbt reads the warehouse path from ``CRITMIN_WAREHOUSE_PATH`` (``profiles.yml``), set here for
    the duration of the call. Raises ``PipelineError`` naming each failed node when dbt reports a
    failure.
    """
    from dbt.cli.main import dbtRunner

    project_dir: Path = settings.dbt_project_dir
    state = settings.paths.dbt_state
    state.mkdir(parents=True, exist_ok=True)
    command = [
        *args,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--target-path",
        str(state / "target"),
        "--log-path",
        str(state / "logs"),
    ]
    log.info("dbt %s", " ".join(args))
    env = {"CRITMIN_WAREHOUSE_PATH": str(settings.paths.warehouse_db)}
    with _environment(env):
        result = dbtRunner().invoke(command)
    if result.success:
        return result.result
    failures = []
    for node_result in getattr(result.result, "results", None) or []:
        status = str(getattr(node_result, "status", ""))
        if status.lower() in ("error", "fail", "runtime error"):
            name = getattr(getattr(node_result, "node", None), "unique_id", "?")
            failures.append(f"  - {name}: {status}: {getattr(node_result, 'message', '')}")
    detail = "\n".join(failures) if failures else f"  {result.exception or 'see the dbt log above'}"
    raise PipelineError(f"dbt {' '.join(args)} failed:\n{detail}\n  dbt's log: {state / 'logs' / 'dbt.log'}")


def build(settings: Settings) -> None:
    """Rebuild staging, intermediate, audit and marts from the raw tables, with dbt's data tests."""
    run_dbt(settings, PIPELINE_BUILD_ARGS)
