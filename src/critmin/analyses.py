"""The worked analyses of ``dbt_project/analyses/``, compiled by dbt and run on ``serving.duckdb``.

Each analysis is a dbt analysis (a ``.sql`` file using ``{{ ref() }}`` to marts only). Analysts
query the published ``serving.duckdb``, never the build warehouse, so an analysis is compiled for
that database: dbt runs against a scratch, empty DuckDB file named ``serving.duckdb`` in a
temporary home (``serving_target``), and since dbt-duckdb names the database after its file,
every ref renders as ``"serving"."marts"."<model>"``. The compiled SQL therefore runs as it is in
any tool connected to ``serving.duckdb`` (the DuckDB CLI, DBeaver, Python), and dbt never opens
``warehouse.duckdb`` (whose single writer is the pipeline) nor the published file.

``run`` compiles an analysis and runs it on ``serving.duckdb`` opened read-only, with external
access (files, network, extensions) disabled.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from critmin.errors import CritminError
from critmin.settings import Paths

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from critmin.settings import Settings

log = logging.getLogger(__name__)

__all__ = [
    "AnalysisError",
    "AnalysisResult",
    "analysis_names",
    "compile_analyses",
    "require_published",
    "run",
    "run_sql",
    "serving_target",
]


class AnalysisError(CritminError):
    """An analysis cannot run: its name is unknown, or nothing has been published yet."""


@dataclass(frozen=True)
class _ServingTargetPaths(Paths):
    """A scratch home in which dbt's warehouse file is named ``serving.duckdb``: dbt-duckdb names
    the database after the file, so refs compile to ``"serving"."marts"."<model>"``."""

    @property
    def warehouse_db(self) -> Path:
        return self.serving_db


def require_published(settings: Settings) -> Path:
    """The published ``serving.duckdb``; ``AnalysisError`` saying how to build it if it is absent."""
    serving = settings.paths.serving_db
    if not serving.is_file():
        raise AnalysisError(
            f"nothing is published yet: {serving} does not exist. Build the warehouse first: "
            "`make demo` (the sample months), or `make run-registers` and `make run-month MONTH=YYYY-MM`."
        )
    return serving


@contextmanager
def serving_target(settings: Settings, *, snapshot: bool = False) -> Iterator[Settings]:
    """Settings whose dbt target is a scratch DuckDB file named ``serving.duckdb`` in a temporary
    home, with dbt's target/ and logs/ there too. The home is removed afterwards, unless the block
    failed: then dbt's log stays, for the error that names it.

    dbt compiles for the published database and never opens ``warehouse.duckdb`` (the pipeline's)
    or the published ``serving.duckdb``, nor shares the pipeline's ``target/``. With ``snapshot``
    the scratch file is a copy of the published ``serving.duckdb`` (what ``dbt docs generate``
    reads its catalog from): the pipeline never writes that file in place but renames a new one
    over it, so the copy is one consistent published state.
    """
    serving = require_published(settings) if snapshot else None
    scratch = Path(tempfile.mkdtemp(prefix="critmin-dbt-"))
    target = replace(settings, paths=_ServingTargetPaths(scratch))
    try:
        if serving is not None:
            shutil.copyfile(serving, target.paths.warehouse_db)
        yield target
    except BaseException:
        # kept for the dbt log the error names (dbt/logs/dbt.log); only the scratch file is removed
        target.paths.warehouse_db.unlink(missing_ok=True)
        raise
    shutil.rmtree(scratch, ignore_errors=True)


def analysis_names(settings: Settings) -> list[str]:
    """The analyses of the dbt project, by name (their file names without ``.sql``)."""
    return sorted(path.stem for path in (settings.dbt_project_dir / "analyses").glob("*.sql"))


def _check_names(settings: Settings, names: Sequence[str]) -> None:
    known = analysis_names(settings)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise AnalysisError(
            f"no analysis named {', '.join(unknown)} in {settings.dbt_project_dir / 'analyses'}; "
            f"the analyses are: {', '.join(known)}"
        )


def compile_analyses(
    settings: Settings,
    names: Sequence[str] | None = None,
    variables: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Compile analyses (default: all) for ``serving.duckdb``, with dbt ``vars``; name -> SQL.

    One dbt invocation for all of them. Needs no built warehouse.
    """
    from critmin.transform import run_dbt

    selected = list(names) if names is not None else analysis_names(settings)
    _check_names(settings, selected)
    if not selected:
        return {}
    # Nothing on stdout (dbt would print each compiled node there); dbt's log is in dbt.log, and
    # a failure raises naming it.
    args = [
        "compile",
        "--log-level",
        "none",
        "--select",
        *(f"{name},resource_type:analysis" for name in selected),
    ]
    if variables:
        args += ["--vars", json.dumps(dict(variables))]
    with serving_target(settings) as target:
        result = run_dbt(target, args)
    compiled = {
        node_result.node.name: node_result.node.compiled_code
        for node_result in getattr(result, "results", None) or []
        if str(getattr(node_result.node, "resource_type", "")).endswith("analysis")
    }
    missing = [name for name in selected if name not in compiled]
    if missing:
        raise AnalysisError(f"dbt compiled no SQL for the analyses {', '.join(missing)}")
    return {name: compiled[name] for name in selected}


@dataclass(frozen=True)
class AnalysisResult:
    """What an analysis returned from ``serving.duckdb``, and the SQL that ran."""

    name: str
    sql: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        """The rows as ``{column: value}`` dicts."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def run_sql(settings: Settings, name: str, sql: str) -> AnalysisResult:
    """Run compiled SQL on the published ``serving.duckdb``, opened read-only with external
    access (files, network, extension installs) disabled."""
    from critmin.serving import open_serving

    serving = require_published(settings)
    with open_serving(serving) as con:
        cursor = con.execute(sql)
        columns = tuple(column[0] for column in cursor.description or ())
        rows = cursor.fetchall()
    return AnalysisResult(name=name, sql=sql, columns=columns, rows=rows)


def run(settings: Settings, name: str, variables: Mapping[str, Any] | None = None) -> AnalysisResult:
    """Compile the analysis ``name`` (with dbt ``vars``) and run it on ``serving.duckdb``."""
    require_published(settings)
    sql = compile_analyses(settings, [name], variables)[name]
    return run_sql(settings, name, sql)
