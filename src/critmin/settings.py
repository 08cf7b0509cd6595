"""Where critmin keeps its runtime state, from one environment variable.

Everything the pipeline writes lives under ``$CRITMIN_HOME`` (default: ``warehouse/`` in the
repository root). Nothing here touches the disk: the paths are computed, not created.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: The Airflow pool that serializes every task writing ``warehouse.duckdb``: DuckDB allows one
#: writing process, and a writer blocks even read-only readers.
WAREHOUSE_POOL = "critmin_warehouse"
#: The Celery queue served by the single worker on the host that owns the DuckDB files.
WAREHOUSE_QUEUE = "warehouse"


def repo_root() -> Path:
    """The checkout this package was installed from (editable install), else the working dir."""
    candidate = Path(__file__).resolve().parents[2]
    if (candidate / "pyproject.toml").is_file() and (candidate / "dbt_project").is_dir():
        return candidate
    return Path.cwd()


@dataclass(frozen=True)
class Paths:
    """The layout of ``$CRITMIN_HOME``."""

    home: Path

    @classmethod
    def from_env(cls) -> Paths:
        home = os.environ.get("CRITMIN_HOME") or str(repo_root() / "warehouse")
        return cls(Path(home).expanduser().resolve())

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    def landing_dir(self, source: str, month: str) -> Path:
        """``landing/<source>/<YYYY-MM>/``, e.g. ``landing/gacc/export/2025-05/``."""
        return self.landing / source / month

    @property
    def raw(self) -> Path:
        return self.home / "raw"

    @property
    def quarantine(self) -> Path:
        return self.home / "quarantine"

    @property
    def warehouse_db(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def serving_db(self) -> Path:
        return self.home / "serving.duckdb"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def dbt_state(self) -> Path:
        """dbt's target/ and logs/ for in-pipeline runs (never inside the repository)."""
        return self.home / "dbt"

    @property
    def quality_docs(self) -> Path:
        """Great Expectations Data Docs: a static HTML report of every validation."""
        return self.home / "docs" / "quality"

    @property
    def gx_state(self) -> Path:
        """Great Expectations' own stores (validation results behind the Data Docs)."""
        return self.home / "gx"


def dbt_project_dir() -> Path:
    return Path(os.environ.get("CRITMIN_DBT_PROJECT_DIR") or repo_root() / "dbt_project")


def expectations_dir() -> Path:
    """The data-quality suites, one JSON file per dataset, versioned with the code."""
    return Path(os.environ.get("CRITMIN_EXPECTATIONS_DIR") or repo_root() / "expectations")


def magnet_hs8_codes() -> tuple[str, ...]:
    """The tariff codes of the magnet exports fact: dbt's ``magnet_hs8_codes`` var (one source)."""
    import yaml

    config = yaml.safe_load((dbt_project_dir() / "dbt_project.yml").read_text(encoding="utf-8"))
    return tuple(str(code) for code in config["vars"]["magnet_hs8_codes"])
