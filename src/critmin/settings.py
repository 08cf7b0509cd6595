"""Settings, resolved once at an entry point (the CLI, a DAG task) and passed down.

Nothing below the entry points reads ``os.environ``: ``Settings.from_env()`` is the one place that
does. A ``Settings`` holds

- ``paths``: the layout of ``$CRITMIN_HOME`` (default: ``warehouse/`` in the repository root), where
  everything the pipeline writes lives;
- the code-side folders the pipeline reads: the dbt project, the Great Expectations suites and the
  curated registers;
- the domain constants shared with dbt (the magnet tariff codes, the world partner code), read from
  the ``vars`` of ``dbt_project.yml``, their one source of truth.

Computing a ``Settings`` touches no file but ``dbt_project.yml``; nothing is created.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

#: The Airflow pool that serializes every task writing ``warehouse.duckdb``: DuckDB allows one
#: writing process, and a writer blocks even read-only readers.
WAREHOUSE_POOL = "critmin_warehouse"
#: The Celery queue served by the single worker on the host that owns the DuckDB files.
WAREHOUSE_QUEUE = "warehouse"
#: The Airflow asset a publish updates: ``serving.duckdb``'s ``marts`` schema. A DAG scheduled on it
#: (``schedule=[Asset(name=SERVED_MARTS_ASSET, uri=SERVED_MARTS_URI)]``) runs after every publish.
SERVED_MARTS_ASSET = "critmin_served_marts"
SERVED_MARTS_URI = "x-critmin://serving/marts"
#: How a load that finds the warehouse held by another live run waits for it: it fails (freeing its
#: pool slot and worker) and is retried every LOAD_RETRY_DELAY, LOAD_RETRIES times: two hours in
#: all, longer than a month's run takes (a minute at sample scale; a few at a million rows a month,
#: docs/benchmarks.md). A holder whose run has ended frees the warehouse at once.
LOAD_RETRY_DELAY = timedelta(minutes=1)
LOAD_RETRIES = 120
#: How often a scheduled run looks for its month's files (seconds): the default and the floor (a
#: rescheduled sensor poked more often than every 15 s can be failed by the scheduler, apache/airflow#71172).
FILES_POKE_SECONDS = 1800.0
FILES_POKE_SECONDS_MIN = 15.0

#: The environment variables ``Settings.from_env`` reads, and what each one sets.
ENVIRONMENT = {
    "CRITMIN_HOME": "the runtime directory (default: warehouse/ in the repository)",
    "CRITMIN_DBT_PROJECT_DIR": "the dbt project (default: dbt_project/ in the repository)",
    "CRITMIN_EXPECTATIONS_DIR": "the Great Expectations suites (default: expectations/)",
    "CRITMIN_REGISTERS_DIR": "the curated registers (default: data/registers/)",
    "CRITMIN_SERVING_DIR": "the folder of the published serving.duckdb (default: $CRITMIN_HOME)",
    "CRITMIN_SINGLE_PROCESS_RUNS": "1 when each DAG run runs in one process (the embedded runner)",
    "CRITMIN_LEASE_WAIT_SECONDS": "how long a run waits for another run's warehouse lease (default 0)",
    "CRITMIN_LEASE_TTL_SECONDS": "when a run's lease lapses without renewal (default 21600, 6 hours)",
    "CRITMIN_TASK_RETRY_SECONDS": "how long Airflow waits before retrying a failed task (default 300; "
    "read where the DAGs are parsed)",
    "CRITMIN_FILES_QUIET_SECONDS": "how long a month's landing folder must be unchanged before a "
    "scheduled run lands it (default 3600, 1 hour)",
    "CRITMIN_DUCKDB_MEMORY_LIMIT": "DuckDB's memory_limit for the pipeline's connections and dbt "
    "(default DuckDB's: 80% of the machine's memory); set it under a container's memory limit",
    "CRITMIN_DUCKDB_THREADS": "DuckDB's threads for the pipeline's connections and dbt (default: every core)",
}


def files_poke_seconds(environ: Mapping[str, str] | None = None) -> float:
    """How often ``customs_monthly``'s scheduled runs look for their month's files: the
    ``CRITMIN_FILES_POKE_SECONDS`` of the process parsing the DAG (default 1800, at least 15). The
    one setting a DAG file reads, since Airflow needs it when it parses the DAG."""
    env = os.environ if environ is None else environ
    return max(FILES_POKE_SECONDS_MIN, float(env.get("CRITMIN_FILES_POKE_SECONDS") or FILES_POKE_SECONDS))


#: How long Airflow waits before it retries a failed task (the DAGs' default): 5 minutes, for what
#: a retry can fix (a lost worker, a file another process held).
TASK_RETRY_SECONDS = 300.0


def task_retry_delay(environ: Mapping[str, str] | None = None) -> timedelta:
    """The DAGs' retry delay: ``CRITMIN_TASK_RETRY_SECONDS`` of the process parsing the DAG
    (default 300), read when Airflow parses it, like the poke interval."""
    env = os.environ if environ is None else environ
    return timedelta(seconds=float(env.get("CRITMIN_TASK_RETRY_SECONDS") or TASK_RETRY_SECONDS))


def repo_root() -> Path:
    """The checkout this package was installed from (editable install), else the working dir."""
    candidate = Path(__file__).resolve().parents[2]
    if (candidate / "pyproject.toml").is_file() and (candidate / "dbt_project").is_dir():
        return candidate
    return Path.cwd()


@dataclass(frozen=True)
class Paths:
    """The layout of ``$CRITMIN_HOME``. The published ``serving.duckdb`` lives there too, unless
    ``serving`` names a folder of its own (``CRITMIN_SERVING_DIR``): in production that folder is
    the one volume BI containers mount, so they never see the warehouse or the raw zone."""

    home: Path
    serving: Path | None = None

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    def landing_dir(self, source: str, month: object) -> Path:
        """``landing/<source>/<YYYY-MM>/``, e.g. ``landing/gacc/export/2025-05/``."""
        return self.landing / source / str(month)

    @property
    def raw(self) -> Path:
        return self.home / "raw"

    @property
    def quarantine(self) -> Path:
        return self.home / "quarantine"

    @property
    def warehouse_lease(self) -> Path:
        """Which run holds the warehouse, from its load to its publish (``warehouse.lease``)."""
        return self.home / "warehouse.lease"

    @property
    def warehouse_db(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def serving_db(self) -> Path:
        return (self.serving or self.home) / "serving.duckdb"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def logs(self) -> Path:
        """The embedded runner's per-run logs."""
        return self.home / "logs"

    @property
    def dbt_state(self) -> Path:
        """dbt's target/ and logs/ for in-pipeline runs (never inside the repository)."""
        return self.home / "dbt"

    @property
    def quality_docs(self) -> Path:
        """Great Expectations Data Docs: a static HTML report of every validation."""
        return self.home / "docs" / "quality"

    @property
    def quality_docs_index(self) -> Path:
        return self.quality_docs / "index.html"

    @property
    def dbt_docs(self) -> Path:
        """The dbt docs site (``make docs``): every model, column and test, with the lineage."""
        return self.home / "docs" / "dbt"

    @property
    def briefs(self) -> Path:
        """The monthly briefs: ``YYYY-MM.md``, ``.html`` and the chart ``.png``, one set per month."""
        return self.home / "briefs"

    @property
    def gx_state(self) -> Path:
        """Great Expectations' own stores (validation results behind the Data Docs)."""
        return self.home / "gx"


@dataclass(frozen=True)
class Domain:
    """Constants the Python code and the dbt models share (``vars`` in ``dbt_project.yml``)."""

    magnet_hs8_codes: tuple[str, ...]
    world_partner_code: str

    @classmethod
    def from_dbt_project(cls, dbt_project_dir: Path) -> Domain:
        import yaml

        config = yaml.safe_load((dbt_project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
        variables = config["vars"]
        return cls(
            magnet_hs8_codes=tuple(str(code) for code in variables["magnet_hs8_codes"]),
            world_partner_code=str(variables["world_partner_code"]),
        )


@dataclass(frozen=True)
class Settings:
    paths: Paths
    dbt_project_dir: Path
    expectations_dir: Path
    registers_dir: Path
    domain: Domain = field(compare=False)
    #: Each DAG run runs in one process (the embedded runner): a run whose process is gone is dead.
    #: Otherwise (Celery) a run's tasks are separate processes and its lease lapses by time.
    single_process_runs: bool = False
    #: How long a run waits for the warehouse lease another run holds before failing (to retry).
    lease_wait_seconds: float = 0.0
    #: A lease not renewed for this long belongs to a dead run (its tasks renew it as they start).
    lease_ttl_seconds: float = 6 * 3600.0
    #: A scheduled run lands its month once the landing folder has files and has not changed for
    #: this long (a month is downloaded by hand, a file at a time).
    files_quiet_seconds: float = 3600.0
    #: DuckDB's memory_limit and threads for the pipeline (None: DuckDB's defaults, 80% of the
    #: machine's memory and every core, too much inside a container with a memory limit).
    duckdb_memory_limit: str | None = None
    duckdb_threads: int | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings of this process: the environment's values, else the defaults."""
        env = os.environ if environ is None else environ
        root = repo_root()
        return cls.for_home(
            Path(env.get("CRITMIN_HOME") or root / "warehouse"),
            dbt_project_dir=Path(env.get("CRITMIN_DBT_PROJECT_DIR") or root / "dbt_project"),
            expectations_dir=Path(env.get("CRITMIN_EXPECTATIONS_DIR") or root / "expectations"),
            registers_dir=Path(env.get("CRITMIN_REGISTERS_DIR") or root / "data" / "registers"),
            serving_dir=Path(env["CRITMIN_SERVING_DIR"]) if env.get("CRITMIN_SERVING_DIR") else None,
            single_process_runs=env.get("CRITMIN_SINGLE_PROCESS_RUNS", "") == "1",
            lease_wait_seconds=float(env.get("CRITMIN_LEASE_WAIT_SECONDS") or 0),
            lease_ttl_seconds=float(env.get("CRITMIN_LEASE_TTL_SECONDS") or 6 * 3600),
            files_quiet_seconds=float(env.get("CRITMIN_FILES_QUIET_SECONDS") or 3600),
            duckdb_memory_limit=env.get("CRITMIN_DUCKDB_MEMORY_LIMIT") or None,
            duckdb_threads=int(env["CRITMIN_DUCKDB_THREADS"]) if env.get("CRITMIN_DUCKDB_THREADS") else None,
        )

    @classmethod
    def for_home(
        cls,
        home: Path,
        *,
        dbt_project_dir: Path | None = None,
        expectations_dir: Path | None = None,
        registers_dir: Path | None = None,
        serving_dir: Path | None = None,
        single_process_runs: bool = False,
        lease_wait_seconds: float = 0.0,
        lease_ttl_seconds: float = 6 * 3600.0,
        files_quiet_seconds: float = 3600.0,
        duckdb_memory_limit: str | None = None,
        duckdb_threads: int | None = None,
    ) -> Settings:
        """Settings for a given runtime directory; code-side folders default to the repository's."""
        root = repo_root()
        dbt_dir = (dbt_project_dir or root / "dbt_project").expanduser().resolve()
        return cls(
            paths=Paths(
                home.expanduser().resolve(), serving_dir.expanduser().resolve() if serving_dir else None
            ),
            dbt_project_dir=dbt_dir,
            expectations_dir=(expectations_dir or root / "expectations").expanduser().resolve(),
            registers_dir=(registers_dir or root / "data" / "registers").expanduser().resolve(),
            domain=Domain.from_dbt_project(dbt_dir),
            single_process_runs=single_process_runs,
            lease_wait_seconds=lease_wait_seconds,
            lease_ttl_seconds=lease_ttl_seconds,
            files_quiet_seconds=files_quiet_seconds,
            duckdb_memory_limit=duckdb_memory_limit,
            duckdb_threads=duckdb_threads,
        )

    def environment(self) -> dict[str, str]:
        """These settings as the environment variables ``from_env`` reads: how an entry point
        hands them to the DAG tasks it runs in-process."""
        return {
            "CRITMIN_HOME": str(self.paths.home),
            "CRITMIN_DBT_PROJECT_DIR": str(self.dbt_project_dir),
            "CRITMIN_EXPECTATIONS_DIR": str(self.expectations_dir),
            "CRITMIN_REGISTERS_DIR": str(self.registers_dir),
            "CRITMIN_SERVING_DIR": str(self.paths.serving) if self.paths.serving else "",
            "CRITMIN_SINGLE_PROCESS_RUNS": "1" if self.single_process_runs else "0",
            "CRITMIN_LEASE_WAIT_SECONDS": str(self.lease_wait_seconds),
            "CRITMIN_LEASE_TTL_SECONDS": str(self.lease_ttl_seconds),
            "CRITMIN_FILES_QUIET_SECONDS": str(self.files_quiet_seconds),
            "CRITMIN_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit or "",
            "CRITMIN_DUCKDB_THREADS": str(self.duckdb_threads or ""),
        }

    def duckdb_resources(self) -> dict[str, str]:
        """DuckDB's settings for the pipeline's own connections (empty: DuckDB's defaults)."""
        resources = {}
        if self.duckdb_memory_limit:
            resources["memory_limit"] = self.duckdb_memory_limit
        if self.duckdb_threads:
            resources["threads"] = str(self.duckdb_threads)
        return resources

    @property
    def seeds_dir(self) -> Path:
        """The code lists (dbt seeds) that both the marts and the gates read."""
        return self.dbt_project_dir / "seeds" / "reference"
