"""serving.duckdb as BI tools open it: an older DuckDB reads it, and the documented connection
settings let a reader query and nothing else.

The clients run in isolated environments with the driver stack Apache Superset uses (SQLAlchemy
1.4, duckdb-engine, DuckDB 1.4 or 1.5; see tests/bi/). The published file here comes from
``critmin.publish`` over a small warehouse; the demo's own file is checked in test_end_to_end.py,
with a client polling while the demo publishes.
"""

from __future__ import annotations

import re
import stat

import duckdb
import pytest
from bi_clients import VERSIONS, documented_connect_args, run_client

from critmin.publish import publish
from critmin.serving import READER_CONFIG, STORAGE_VERSION, open_serving


@pytest.fixture
def published(paths):
    """A warehouse with two marts (a DATE, DECIMAL and constraints among their columns), published."""
    paths.home.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(paths.warehouse_db)) as con:
        con.execute(
            """
            create schema marts;
            create table marts.fct_magnet_exports_monthly (
                month date not null,
                partner_iso3 varchar not null,
                quantity_t decimal(14, 3),
                mom_pct decimal(9, 1),
                primary key (month, partner_iso3)
            );
            insert into marts.fct_magnet_exports_monthly values
                ('2025-08-01', 'USA', 590.2, null), ('2025-09-01', 'USA', 420.5, -28.7);
            comment on table marts.fct_magnet_exports_monthly is 'Monthly exports by destination.';
            comment on column marts.fct_magnet_exports_monthly.quantity_t is 'Net weight, tonnes.';
            create table marts.dim_policy_event (event_id varchar primary key, announced_on date);
            insert into marts.dim_policy_event values ('mofcom-18-2025', '2025-04-04');
            create schema staging;
            create table staging.not_published as select 1 as x;
            """
        )
    publish(paths)
    return paths.serving_db


def test_the_serving_file_is_published_read_only_in_duckdb_14_format(published):
    assert stat.S_IMODE(published.stat().st_mode) == 0o444
    with open_serving(published) as con:
        (storage,) = con.execute(
            "select tags['storage_version'] from duckdb_databases() where database_name = 'serving'"
        ).fetchone()
        schemas = {row[0] for row in con.execute("select schema_name from duckdb_tables()").fetchall()}
        definition = con.execute(
            "select sql from duckdb_tables() where table_name = 'fct_magnet_exports_monthly'"
        ).fetchone()[0]
    assert schemas == {"marts"}
    assert 'PRIMARY KEY("month", partner_iso3)' in definition, definition
    assert "quantity_t DECIMAL(14,3)" in definition, definition
    assert STORAGE_VERSION == "v1.4.0"
    assert storage.startswith(STORAGE_VERSION), f"written in storage version {storage}"


@pytest.mark.parametrize("version", VERSIONS)
def test_duckdb_1x_through_superset_driver_stack_reads_tables_types_and_comments(published, version):
    seen = run_client(version, "describe", published)

    assert seen["duckdb"].startswith(version + "."), seen["duckdb"]
    assert seen["sqlalchemy"].startswith("1.4."), seen["sqlalchemy"]
    assert seen["tables"] == ["dim_policy_event", "fct_magnet_exports_monthly"]
    assert seen["columns"]["month"] == "DATE"
    assert seen["columns"]["quantity_t"] == "NUMERIC(14, 3)"
    assert (seen["month_python_type"], seen["quantity_python_type"]) == ("date", "Decimal")
    assert seen["latest"] == ["2025-09-01", "420.500"]
    assert seen["counts"] == {"dim_policy_event": 1, "fct_magnet_exports_monthly": 2}
    assert seen["table_comment"] == "Monthly exports by destination."
    assert seen["commented_columns"] == 1


@pytest.mark.parametrize("version", VERSIONS)
def test_through_the_documented_settings_every_write_and_file_access_fails(published, version, tmp_path):
    assert documented_connect_args() == {"read_only": True, "config": READER_CONFIG}
    workdir = tmp_path / "attempts"
    workdir.mkdir()

    report = run_client(version, "attempts", published, str(workdir))

    # Refused because external access is off (a PermissionException, not a download that failed
    # offline), because the file is open read-only, or because the setting cannot be undone.
    by_setting = (
        "copy_to_file",
        "copy_to_spill_folder",
        "set_temp_directory",
        "read_text",
        "read_csv",
        "attach_read_write",
        "install_extension",
        "load_extension",
    )
    for name in by_setting:
        refusal = "refused: (_duckdb.PermissionException) Permission Error"
        assert report[name].startswith(refusal), (name, report)
    for name in ("delete_rows", "create_table"):
        assert "read-only mode" in report[name], (name, report)
    assert re.search(  # DuckDB 1.4 and 1.5 word it differently
        r"Cannot (enable external access|change enable_external_access)", report["enable_external_access"]
    ), report
    assert report["files_written"] == [] and report["spill_files_written"] == [], report
    assert report["other_tables"] == [], "ATTACH must not have written into another database"
    # ... while a reader can still query and list the schema.
    assert report["query"] == 2
    assert "serving.marts" in report["schemas"]  # duckdb-engine names schemas <database>.<schema>
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_magnet_exports_monthly").fetchone() == (2,)


@pytest.mark.parametrize("version", VERSIONS)
def test_sqlalchemy_and_duckdb_s_own_api_in_one_process_as_the_guide_says(published, version):
    assert run_client(version, "one-process", published) == {"sqlalchemy": 2, "duckdb": 2}


def test_without_temp_directory_a_reader_writes_into_the_spill_folder(published):
    """Why the guide's settings name temp_directory: with external access off alone, DuckDB (1.5
    and later) still lets a query write into the spill folder beside the file."""
    spill = published.with_name(published.name + ".tmp")
    spill.mkdir()
    external_off = {"enable_external_access": False}
    with duckdb.connect(str(published), read_only=True, config=external_off) as con:
        con.execute(f"copy (select 1 as x) to '{spill / 'out.csv'}'")
    assert (spill / "out.csv").exists()
    (spill / "out.csv").unlink()
    with (
        duckdb.connect(str(published), read_only=True, config=READER_CONFIG) as con,
        pytest.raises(duckdb.PermissionException),
    ):
        con.execute(f"copy (select 1 as x) to '{spill / 'out.csv'}'")
    assert not (spill / "out.csv").exists()


def test_the_same_attempts_succeed_without_the_settings(published, tmp_path):
    """The attempts above are real: through a plain read-only connection they work. If DuckDB ever
    refuses them by default, this fails and the guide's reasons should be rewritten."""
    secret = tmp_path / "secret.txt"
    secret.write_text("readable\n")
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    with duckdb.connect(str(published), read_only=True) as con:
        con.execute(f"copy (select 1 as x) to '{tmp_path / 'out.csv'}'")
        (content,) = con.execute(f"select content from read_text('{secret}')").fetchone()
        con.execute(f"attach '{other}' as other (read_only false)")
        con.execute("create table other.t as select 1 as x")
    assert (tmp_path / "out.csv").exists()
    assert content == "readable\n"
    with duckdb.connect(str(other), read_only=True) as con:
        assert con.execute("select count(*) from other.t").fetchone() == (1,)
