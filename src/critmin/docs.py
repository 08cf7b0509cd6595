"""The documentation sites under ``$CRITMIN_HOME/docs/``: dbt's and Great Expectations'.

- ``docs/dbt/index.html``: the dbt docs site (every model, column, test and analysis, with
  lineage), a single file as ``dbt docs generate --static`` writes it, with its
  ``manifest.json`` and ``catalog.json`` beside it;
- ``docs/quality/index.html``: the Great Expectations Data Docs, written by every gate;
- ``docs/index.html``: a landing page linking both and the monthly briefs.

``dbt docs generate`` connects to its target database to read the catalog (column types and
comments; dbt-duckdb reports no row counts). It is pointed at a scratch copy of the published
``serving.duckdb`` (see ``critmin.analyses.serving_target``), never at ``warehouse.duckdb``:
dbt-duckdb opens its file read-write, and DuckDB allows one writing process, which is the pipeline's.
Opening the warehouse would make a running month fail (or wait on the warehouse lease, if the docs
took it). The published file is never written in place, only replaced by a rename, so a copy of it
is one consistent published state, and the docs describe exactly what analysts query: the catalog
holds the published ``marts`` schema, and the other models are documented from their YAML.
"""

from __future__ import annotations

import html
import json
import logging
import os
from typing import TYPE_CHECKING

from critmin.analyses import serving_target
from critmin.files import write_atomically
from critmin.serving import PUBLISHED_SCHEMA

if TYPE_CHECKING:
    from pathlib import Path

    from critmin.settings import Paths, Settings

log = logging.getLogger(__name__)

__all__ = ["build_dbt_docs", "dbt_docs_index", "docs_index", "write_docs_index"]

#: The database of the relations that are not published: the pipeline's ``warehouse.duckdb``.
BUILD_DATABASE = "warehouse"
_RELATIONS = frozenset({"model", "seed", "snapshot", "source"})


def where_each_relation_is(manifest: dict) -> dict:
    """dbt's manifest with each relation outside the published schema ``marts`` in the database
    it lives in, the pipeline's ``warehouse`` (dbt names them all after the file the docs were
    generated from, ``serving``, where querying them fails). The Database tab then lists
    ``serving.marts`` apart from the raw, staging, intermediate and audit relations."""
    for section in ("nodes", "sources"):
        for node in manifest.get(section, {}).values():
            if node.get("resource_type") not in _RELATIONS or node.get("schema") == PUBLISHED_SCHEMA:
                continue
            database = node.get("database")
            if database and database != BUILD_DATABASE:
                node["database"] = BUILD_DATABASE
                if node.get("relation_name"):
                    node["relation_name"] = node["relation_name"].replace(
                        f'"{database}".', f'"{BUILD_DATABASE}".', 1
                    )
    return manifest


def _static_page(manifest: str, catalog: str) -> str:
    """dbt's single-file docs page (what ``dbt docs generate --static`` writes), from these."""
    from dbt.task.docs import DOCS_INDEX_FILE_PATH

    with open(DOCS_INDEX_FILE_PATH, encoding="utf-8") as template:
        page = template.read()
    # dbt's page names its icon with an unexpanded webpack expression: a request for a file that
    # does not exist, logged as an error by every browser; an empty inline icon requests nothing.
    page = page.replace("href=\"${require('./assets/favicons/favicon.ico')}\"", 'href="data:,"')
    page = page.replace('"MANIFEST.JSON INLINE DATA"', manifest)
    return page.replace('"CATALOG.JSON INLINE DATA"', catalog)


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
        run_dbt(target, ["docs", "generate"])
        generated = target.paths.dbt_state / "target"
        manifest = json.loads((generated / "manifest.json").read_text(encoding="utf-8"))
        catalog = (generated / "catalog.json").read_text(encoding="utf-8")
        site = json.dumps(where_each_relation_is(manifest))
        write_atomically(index.with_name("manifest.json"), site.encode("utf-8"))
        write_atomically(index.with_name("catalog.json"), catalog.encode("utf-8"))
        write_atomically(index, _static_page(site, catalog).encode("utf-8"))
    write_docs_index(settings.paths)
    log.info("dbt docs: %s", index)
    return index


def write_docs_index(paths: Paths) -> Path:
    """Write ``docs/index.html``, linking the dbt docs, the Data Docs and the latest brief (each
    when built)."""
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
    briefs = sorted(paths.briefs.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9].html"), reverse=True)
    sites.append(
        (
            briefs[0] if briefs else paths.briefs / "YYYY-MM.html",
            f"Monthly brief, {briefs[0].stem}" if briefs else "Monthly briefs",
            "The latest month's brief: the headline rare-earth trade, the magnet exports by "
            "destination and the export-control events near it, with a chart"
            + (f"; earlier: {', '.join(b.stem for b in briefs[1:])}." if len(briefs) > 1 else "."),
        )
    )
    items = []
    for page, title, what in sites:
        relative = os.path.relpath(page, docs_index(paths).parent).replace(os.sep, "/")
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
