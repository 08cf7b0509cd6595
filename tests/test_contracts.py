"""Every mart has an enforced dbt contract, so a change that would break a dashboard (a column
renamed or removed, a changed type) fails the build instead of reaching ``serving.duckdb``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from conftest import REPO, copy_dbt_project

from critmin import transform
from critmin.errors import PipelineError
from critmin.settings import Settings
from critmin.warehouse import writing

MARTS = REPO / "dbt_project" / "models" / "marts"
#: Materializations that can enforce a contract (incremental only with these on_schema_change).
CONTRACT_MATERIALIZATIONS = {"table", "view", "incremental"}
INCREMENTAL_SCHEMA_CHANGES = {"append_new_columns", "fail"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Every model, seed and snapshot of a copy of the dbt project, built into a fresh warehouse
    whose raw tables are empty (no data tests: this is about shapes); the settings and the nodes
    that build compiled."""
    folder = tmp_path_factory.mktemp("contracts")
    project = folder / "dbt_project"
    copy_dbt_project(project)
    settings = Settings.for_home(folder / "home", dbt_project_dir=project)
    with writing(settings.paths.warehouse_db):  # creates the raw and audit tables, empty
        pass
    results = transform.run_dbt(settings, ["build", "--exclude-resource-type", "test", "unit_test"])
    # The nodes as dbt built them (compiled), as manifest.json would list them: a pipeline build
    # writes no JSON artifacts.
    nodes = {result.node.unique_id: result.node.to_dict() for result in results.results}
    return settings, {"nodes": nodes}


def _marts(manifest: dict) -> dict[str, dict]:
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == "marts"
    }


def _type(con: duckdb.DuckDBPyConnection, data_type: str) -> str:
    """A type as DuckDB spells it (``decimal(18, 3)`` -> ``DECIMAL(18,3)``)."""
    return con.execute(f"select typeof(cast(null as {data_type}))").fetchone()[0]


def test_every_mart_declares_an_enforced_contract(built):
    _, manifest = built
    marts = _marts(manifest)
    assert set(marts) == {path.stem for path in MARTS.rglob("*.sql")}, "every model in marts/ is in marts"
    for name, node in marts.items():
        config = node["config"]
        assert config["contract"]["enforced"] is True, name
        assert config["materialized"] in CONTRACT_MATERIALIZATIONS, name
        if config["materialized"] == "incremental":
            assert config["on_schema_change"] in INCREMENTAL_SCHEMA_CHANGES, name
        assert node["description"].strip(), name
        assert node["columns"], name
        for column in node["columns"].values():
            assert column["data_type"], (name, column["name"])
            assert column["description"].strip(), (name, column["name"])


def test_each_mart_builds_exactly_the_columns_and_types_it_declares(built):
    """What the model's SQL selects (DuckDB's DESCRIBE of the compiled query) and the table in the
    warehouse both match the contract: names, order and types."""
    settings, manifest = built
    with duckdb.connect(str(settings.paths.warehouse_db), read_only=True) as con:
        for name, node in _marts(manifest).items():
            declared = [(c["name"], _type(con, c["data_type"])) for c in node["columns"].values()]
            selected = [
                (row[0], row[1]) for row in con.execute(f"describe ({node['compiled_code']})").fetchall()
            ]
            built_columns = con.execute(
                "select column_name, data_type from duckdb_columns() "
                "where schema_name = 'marts' and table_name = ? order by column_index",
                [name],
            ).fetchall()
            assert selected == declared, name
            assert built_columns == declared, name


@contextmanager
def _changed(path: Path, old: str, new: str) -> Iterator[None]:
    """``path`` with ``old`` replaced by ``new``, put back afterwards."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} not found once in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    try:
        yield
    finally:
        path.write_text(text, encoding="utf-8")


def _node_errors(message: str) -> dict[str, str]:
    """critmin's dbt failure message, as the error of each failed node by name."""
    parts = re.split(r"^  - model\.critmin\.(\w+): ", message, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_a_changed_type_or_a_renamed_column_fails_the_build_naming_the_column(built):
    """Two breaking changes to the built project (the same project and warehouse, so dbt parses
    only the two changed files): neither model is built, and the error names the column."""
    settings, _ = built
    marts = settings.dbt_project_dir / "models" / "marts"
    fact = marts / "trade" / "fct_magnet_exports_monthly.sql"
    type_changed = _changed(
        fact, "cast(value_usd as decimal(18, 2)) as value_usd", "cast(value_usd as varchar) as value_usd"
    )
    renamed = _changed(
        marts / "agreements" / "dim_mineral.sql", "mineral as mineral_id,", "mineral as mineral_code,"
    )
    with type_changed, renamed, pytest.raises(PipelineError) as failure:
        transform.run_dbt(settings, ["run", "--select", "fct_magnet_exports_monthly", "dim_mineral"])

    errors = _node_errors(str(failure.value))
    assert set(errors) == {"fct_magnet_exports_monthly", "dim_mineral"}, str(failure.value)
    for model, column, reason in (
        ("fct_magnet_exports_monthly", "value_usd", "data type mismatch"),
        ("dim_mineral", "mineral_id", "missing in definition"),
        ("dim_mineral", "mineral_code", "missing in contract"),
    ):
        assert "enforced contract that failed" in errors[model], errors[model]
        assert re.search(rf"\| {column} +\|.*\| {reason} ", errors[model]), errors[model]
    with duckdb.connect(str(settings.paths.warehouse_db), read_only=True) as con:  # the tables stay
        kept = con.execute(
            "select table_name, column_name, data_type from duckdb_columns() where schema_name = 'marts' "
            "and (table_name, column_name) in (('fct_magnet_exports_monthly', 'value_usd'), "
            "('dim_mineral', 'mineral_id'), ('dim_mineral', 'mineral_code')) order by all"
        ).fetchall()
    assert kept == [
        ("dim_mineral", "mineral_id", "VARCHAR"),
        ("fct_magnet_exports_monthly", "value_usd", "DECIMAL(18,2)"),
    ]


def test_a_duplicate_key_or_a_null_fails_the_build_where_the_marts_have_no_data_tests_for_them(built):
    """The marts' not_null and primary-key constraints replace the equivalent data tests: DuckDB
    enforces them as dbt writes the table, so a duplicate key or a NULL fails the model itself."""
    settings, _ = built
    partners = settings.dbt_project_dir / "models" / "marts" / "core" / "dim_partner.sql"
    doubled = _changed(partners, "select * from final", "select * from final union all select * from final")
    with doubled, pytest.raises(PipelineError) as failure:
        transform.run_dbt(settings, ["run", "--select", "dim_partner"])
    assert re.search(r"(?i)duplicate key", str(failure.value)), str(failure.value)

    nulled = _changed(
        partners,
        "select * from final",
        "select * replace (cast(null as varchar) as partner_name_en) from final",
    )
    with nulled, pytest.raises(PipelineError) as failure:
        transform.run_dbt(settings, ["run", "--select", "dim_partner"])
    assert re.search(r"(?i)not null constraint", str(failure.value)), str(failure.value)
    with duckdb.connect(str(settings.paths.warehouse_db), read_only=True) as con:  # the table stays
        assert con.execute(
            "select count(*) = count(distinct partner_code) and count(partner_name_en) = count(*) "
            "from marts.dim_partner"
        ).fetchone() == (True,)
