"""Run dbt (dbt-duckdb) in-process against ``warehouse.duckdb``.

One ``dbt build`` per DAG run, inside the single-slot warehouse pool. Per-model tasks (Cosmos
LOCAL) would start one dbt invocation per model per month; the warehouse is small and the models
are few, so one build is faster and holds the writer lock once. See README "Why one dbt task".

A run rebuilds the models downstream of the dbt sources its load changed (``CUSTOMS`` or
``REGISTERS``), with their data tests; every other model is unchanged. That holds only while the
whole warehouse was built by the same dbt project from the current raw tables
(``critmin.warehouse.builds``), so the first build, the first after a change to the project, and
the first after a failed run's load was put back are whole.

Within the customs models, a build recomputes the data months marked in ``audit.months_to_build``
(``critmin.warehouse.builds``): a run's build, the month it loaded and the months whose changes
that month feeds; a whole build, every month (``--full-refresh``). So a month's run costs the same
with ten years of history as with one month.
"""

from __future__ import annotations

import hashlib
import logging
import os
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from critmin.errors import PipelineError
from critmin.files import write_atomically
from critmin.warehouse import (
    clear_months_to_build,
    mark_months_to_build,
    record_whole_build,
    start_whole_build,
    whole_build_fingerprint,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from critmin.months import Month
    from critmin.settings import Settings

log = logging.getLogger(__name__)

#: The pipeline builds models, seeds and data tests; dbt unit tests check the SQL and run in `make test`.
PIPELINE_BUILD_ARGS = ("build", "--exclude-resource-type", "unit_test")
#: The dbt sources each DAG's load changes (``audit``: the data-quality results of its gates).
#: Built after a run's mart gate has recorded its results, not in the run's transform. A data test
#: on it would still run in the transform, on the last run's table (partial builds select with
#: indirect selection "empty"); tests/test_transform.py checks that none does.
AFTER_THE_GATE = ("data_quality_results",)
CUSTOMS = ("gacc", "audit")
TABLES = ("gacc_tables", "audit")
REGISTERS = ("registers", "audit")
#: What in the dbt project folder is output (dbt's, Python's), not the project itself.
_NOT_PROJECT = {"target", "logs", "dbt_packages", "__pycache__", ".user.yml"}


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


#: Parsed dbt projects, reused by every dbt command this process runs on the same project: one
#: parse per process instead of one per command (dbt's programmatic runner takes a manifest).
#: Keyed by the project (its folder and fingerprint: any change to it is a new parse) and by the
#: database name dbt-duckdb derives from the file (warehouse, or serving for the analyses).
_MANIFESTS: dict[tuple[str, str, str], Any] = {}
#: The commands that run against a parsed project (``parse`` and ``docs`` parse for themselves).
_REUSES_MANIFEST = {"build", "run", "test", "seed", "snapshot", "compile"}
#: These commands write no manifest.json or run_results.json into target/: nothing reads them (the
#: results come back from the invocation, and ``docs generate`` writes its own manifest).
#: Serialising the whole manifest was half of dbt's main-thread samples in a profile of the demo;
#: a tables build takes 0.06 to 0.25 s less CPU without it (docs/scaling.md).
NO_JSON_ARTIFACTS = ("--no-write-json",)
#: dbt's own log file (``$CRITMIN_HOME/dbt/logs/dbt.log``) gets what the task log gets, at info:
#: at debug (dbt's default) it also records every SQL statement and adapter call, and formatting
#: and writing those events took about a tenth of a month's build's CPU (docs/scaling.md). Set
#: DBT_LOG_LEVEL_FILE=debug for a run whose SQL you need to see.
FILE_LOG_LEVEL = "info"
#: A run's partial build leaves the views as they are: a view is its SQL, unchanged since the whole
#: build (the project's fingerprint says so; a restore makes the next build whole, and a whole
#: build vouches for every relation only once it succeeded), and each one costs dbt a node's
#: overhead (its compilation, events and statements). Their data tests still run: with indirect
#: selection "empty", excluding a view does not exclude the tests the ``+`` selected below it.
VIEWS_AS_BUILT = "config.materialized:view"
PARTIAL_BUILD_SELECTION = ("--indirect-selection", "empty")
#: Where a home keeps the parse its runs use (``$CRITMIN_HOME/dbt/parsed/``), for the next process.
#: dbt's own partial parsing does not serve a home that was copied, restored or is new: it reparses
#: the whole project (about 3 s) whenever the profile changed, and the warehouse's path is in it.
PARSED_FOLDER = "parsed"


def _runner(settings: Settings, common: Sequence[str], command: str) -> Any:
    """dbt's runner, with the project's parsed manifest when the command can reuse one: this
    process's, else the one the home kept, else a new parse (which the home then keeps)."""
    from dbt.cli.main import dbtRunner

    if command not in _REUSES_MANIFEST:
        return dbtRunner()
    project = settings.dbt_project_dir
    key = (str(project), project_fingerprint(project), settings.paths.warehouse_db.stem)
    kept = _kept_parse(settings, key)
    if key not in _MANIFESTS:
        manifest = _read_kept_parse(kept)
        if manifest is None:
            manifest = _parse(common)
            if manifest is None:
                return dbtRunner()  # the command itself will fail, and say why
        _MANIFESTS.clear()  # an older fingerprint's manifest is never used again
        _MANIFESTS[key] = manifest
    if not kept.exists():
        _keep_parse(kept, _MANIFESTS[key], key)
    return dbtRunner(manifest=_MANIFESTS[key])


def _parse(common: Sequence[str]) -> Any:
    """``dbt parse``: the project's manifest, or None when the project does not parse."""
    from dbt.cli.main import dbtRunner

    parsed = dbtRunner().invoke(["parse", *common])
    return parsed.result if parsed.success else None


def _kept_parse(settings: Settings, key: tuple[str, str, str]) -> Path:
    """Where the home keeps the parse for ``key`` (project, fingerprint, database name)."""
    digest = hashlib.sha256("\n".join(key).encode()).hexdigest()[:32]
    return settings.paths.dbt_state / PARSED_FOLDER / f"{key[2]}-{digest}.msgpack"


def _read_kept_parse(path: Path) -> Any:
    """The manifest kept at ``path`` (dbt's own partial-parse format), or None when there is none
    or it cannot be read (then the project is parsed again)."""
    from dbt.contracts.graph.manifest import Manifest
    from dbt.parser.manifest import extended_mashumuro_decoder

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        manifest = Manifest.from_msgpack(data, decoder=extended_mashumuro_decoder)
    except Exception as error:  # a damaged or truncated file: it is rewritten after the parse
        log.warning("cannot read the kept dbt parse %s (%s): parsing the project again", path, error)
        path.unlink(missing_ok=True)
        return None
    log.info("dbt project parse: the one kept in %s", path.parent)
    return manifest


def _keep_parse(path: Path, manifest: Any, key: tuple[str, str, str]) -> None:
    """Keep ``manifest`` for the next process (written beside and renamed, so a process killed
    meanwhile leaves none half-written); the home's older parses for the same database are removed."""
    from dbt.parser.manifest import extended_mashumaro_encoder

    try:
        write_atomically(path, manifest.to_msgpack(extended_mashumaro_encoder))
    except OSError as error:  # only a cache: the next process parses the project again
        log.warning("could not keep the dbt parse in %s (%s)", path, error)
        return
    for older in path.parent.glob(f"{key[2]}-*.msgpack"):
        if older != path:
            older.unlink(missing_ok=True)


def run_dbt(settings: Settings, args: Sequence[str]) -> Any:
    """Invoke dbt with the project's profile and state under ``$CRITMIN_HOME/dbt``.

    dbt reads the warehouse path from ``CRITMIN_WAREHOUSE_PATH`` (``profiles.yml``), set here for
    the duration of the call. Raises ``PipelineError`` naming each failed node when dbt reports a
    failure.
    """
    project_dir: Path = settings.dbt_project_dir
    state = settings.paths.dbt_state
    state.mkdir(parents=True, exist_ok=True)
    common = [
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--target-path",
        str(state / "target"),
        "--log-path",
        str(state / "logs"),
    ]
    if not os.environ.get("DBT_LOG_LEVEL_FILE"):
        common += ["--log-level-file", FILE_LOG_LEVEL]
    command = [*args, *common]
    if args and args[0] in _REUSES_MANIFEST:
        command += NO_JSON_ARTIFACTS
    log.info("dbt %s", " ".join(args))
    env = {
        "CRITMIN_WAREHOUSE_PATH": str(settings.paths.warehouse_db),
        "CRITMIN_DUCKDB_MEMORY_LIMIT": settings.duckdb_memory_limit or "80%",
        "CRITMIN_DUCKDB_THREADS": str(settings.duckdb_threads or os.cpu_count() or 1),
    }
    with _environment(env):
        reusable = args[0] if args and "--vars" not in args else ""  # vars change what a parse gives
        try:
            result = _runner(settings, common, reusable).invoke(command)
        finally:
            _close_database()
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


def _close_database() -> None:
    """Close the DuckDB database dbt-duckdb kept open for the invocation (``keep_open`` in
    ``profiles.yml``), so the file is free for the next task, in this process or another.

    Kept open, one invocation opens the file once instead of once per node and per schema listed
    (about 40 ms each: 0.4-0.6 s of a run's build); closed here, it is held no longer than before.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
        if environment is not None:
            environment.close()


def project_fingerprint(project_dir: Path) -> str:
    """A digest of every file of the dbt project (models, seeds, macros, settings) and of the
    versions of dbt and dbt-duckdb (whose macros create the relations): what the models are built by."""
    from dbt.adapters.duckdb.__version__ import version as adapter_version
    from dbt.version import __version__ as dbt_version

    digest = hashlib.sha256(f"dbt {dbt_version}\ndbt-duckdb {adapter_version}\n".encode())
    for path in sorted(project_dir.rglob("*")):
        relative = path.relative_to(project_dir)
        if path.is_file() and not _NOT_PROJECT.intersection(relative.parts):
            digest.update(f"{relative.as_posix()}\n".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def build(
    settings: Settings, changed: Sequence[str] = (), months: Sequence[Month] = (), exclude: Sequence[str] = ()
) -> Any:
    """Rebuild the models (with their data tests) downstream of the ``changed`` dbt sources, for
    the data ``months`` a customs load changed, but the ``exclude``d ones (a model the run builds
    later); or every model, for every month, when the warehouse is not known to be current (or
    nothing is named). A partial build leaves the views as built (``VIEWS_AS_BUILT``) and runs
    their data tests. Returns dbt's results."""
    db = settings.paths.warehouse_db
    fingerprint = project_fingerprint(settings.dbt_project_dir)
    recorded = whole_build_fingerprint(db)
    if changed and recorded == fingerprint:
        marked = mark_months_to_build(db, months)
        log.info(
            "rebuilding the models downstream of the sources %s%s",
            ", ".join(changed),
            f" for the data months {', '.join(m[:7] for m in marked)}" if marked else "",
        )
        results = run_dbt(
            settings,
            [
                *PIPELINE_BUILD_ARGS,
                "--select",
                *(f"source:{name}+" for name in changed),
                "--exclude",
                VIEWS_AS_BUILT,
                *exclude,
                *PARTIAL_BUILD_SELECTION,
            ],
        )
        clear_months_to_build(db)
        return results
    if changed:
        log.info(
            "building every model: %s",
            "the dbt project changed since the last whole build"
            if recorded
            else "no whole build since the warehouse was created, a failed run's load was put back "
            "or a whole build failed",
        )
    marked = mark_months_to_build(db, None)
    span = f"{marked[0][:7]} to {marked[-1][:7]}" if marked else "none loaded yet"
    log.info("full refresh: every model, every data month (%s)", span)
    start_whole_build(db)
    results = run_dbt(settings, [*PIPELINE_BUILD_ARGS, "--full-refresh"])
    record_whole_build(db, fingerprint)
    clear_months_to_build(db)
    return results
