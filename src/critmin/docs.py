"""The documentation sites under ``$CRITMIN_HOME/docs/``: dbt's and Great Expectations'.

- ``docs/dbt/index.html``: the dbt docs site (every model, column, test and analysis, with
  lineage), the single-file ``static_index.html`` of ``dbt docs generate --static``, with its
  ``manifest.json`` and ``catalog.json`` beside it;
- ``docs/quality/index.html``: the Great Expectations Data Docs, written by every gate;
- ``docs/index.html``: a landing page linking both.

``dbt docs generate`` connects to its target database to read the catalog (column types, row
counts). It is pointed at a scratch copy of the published ``serving.duckdb`` (see
``critmin.analyses.serving_target``), never at ``warehouse.duckdb``: dbt-duckdb opens its file
read-write, and DuckDB allows one writing process, which is the pipeline's. Opening the warehouse
would make a running month fail (or wait on the warehouse lease, if the docs took it). The
published file is never written in place, only replaced by a rename, so a copy of it is one
consistent published state, and the docs describe exactly what analysts query: the catalog holds
the published ``marts`` schema, and the other models are documented from their YAML.
"""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING

from critmin.analyses import serving_target
from critmin.files import copy_atomically, write_atomically

if TYPE_CHECKING:
    from pathlib import Path

    from critmin.settings import Paths, Settings

log = logging.getLogger(__name__)

__all__ = ["build_dbt_docs", "dbt_docs_index", "docs_index", "write_docs_index"]

#: What ``dbt docs generate`` writes to its target folder that the site keeps, by its name there.
_DBT_SITE_FILES = {
    "static_index.html": "index.html",
    "manifest.json": "manifest.json",
    "catalog.json": "catalog.json",
}


def dbt_docs_index(paths: Paths) -> Path:
    """The dbt docs site's page, ``$CRITMIN_HOME/docs/dbt/index.html``."""
    return paths.dbt_docs / "index.html"


def docs_index(paths: Paths) -> Path:
    """The landing page linking the documentation sites, ``$CRITMIN_HOME/docs/index.html``."""
    return paths.home / "docs" / "index.html"


def build_dbt_docs(settings: Settings) -> Path:
    """Generate the dbt docs site from the published marts; returns its ``index.html``.

    Raises ``critmin.analyses.AnalysisError`` when nothing is published yet.
    """
    from critmin.transform import run_dbt

    index = dbt_docs_index(settings.paths)
    with serving_target(settings, snapshot=True) as target:
        run_dbt(target, ["docs", "generate", "--static"])
        generated = target.paths.dbt_state / "target"
        for name, kept_as in _DBT_SITE_FILES.items():
            copy_atomically(generated / name, index.with_name(kept_as))
    write_docs_index(settings.paths)
    log.info("dbt docs: %s", index)
    return index


def write_docs_index(paths: Paths) -> Path:
    """Write ``docs/index.html``, linking the dbt docs and the Data Docs (each when built)."""
    sites = [
        (
            dbt_docs_index(paths),
            "dbt docs",
            "The warehouse's models: every published table and column of schema marts, the "
            "analyses in dbt_project/analyses/, data tests and lineage from the raw tables.",
        ),
        (
            paths.quality_docs_index,
            "Data quality (Great Expectations Data Docs)",
            "Every validation of every run: the raw gate on each month's downloads, the mart "
            "gate before publishing, and the registers' gate.",
        ),
    ]
    items = []
    for page, title, what in sites:
        relative = page.relative_to(docs_index(paths).parent).as_posix()
        if page.is_file():
            link = f'<a href="{html.escape(relative)}">{html.escape(title)}</a>'
        else:
            link = f"{html.escape(title)} (not built yet: {html.escape(relative)})"
        items.append(f"    <li>{link}: {html.escape(what)}</li>")
    text = "\n".join(
        [
            "<!doctype html>",
            '<html lang="en">',
            '<head><meta charset="utf-8"><title>critmin documentation</title></head>',
            "<body>",
            "  <h1>critmin documentation</h1>",
            "  <p>China's rare-earth magnet exports and critical-mineral agreements. Query "
            f"<code>{html.escape(str(paths.serving_db))}</code> read-only; its tables are in "
            "schema <code>marts</code>.</p>",
            "  <ul>",
            *items,
            "  </ul>",
            "</body>",
            "</html>",
            "",
        ]
    )
    index = docs_index(paths)
    write_atomically(index, text.encode("utf-8"))
    return index
