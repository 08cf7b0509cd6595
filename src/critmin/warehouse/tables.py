"""Every table the pipeline writes in ``warehouse.duckdb`` (dbt reads them as sources), defined once."""

from __future__ import annotations

import functools

GACC_EXPORT_ROWS = "raw.gacc_export_rows"
GACC_EXPORT_FILES = "raw.gacc_export_files"
#: GACC's commodity tables: every catalogued figure each landed table prints, and the tables.
GACC_TABLE_FIGURES = "raw.gacc_table_figures"
GACC_TABLE_FILES = "raw.gacc_table_files"
QUALITY_RESULTS = "audit.data_quality_results"
#: The warehouse's own record of each load: for every data month (``YYYY-MM``) and for the
#: registers, the run whose load is in place, when it passed its gates and when it was published.
#: A load writes its row in the load's transaction, and a put-back restores the row with the data,
#: so the record is never out of step with the tables. Publishing refuses while any load in it is
#: neither published nor gated by the publishing run (``critmin.warehouse.loads``): no lock file
#: decides what may be published.
LOADS = "audit.loads"
#: The record this replaced (one row per load, no gate state); dropped from older warehouses.
LEGACY_LOADS = "audit.warehouse_loads"
#: The dbt project (by fingerprint) every model was last built with, from the current raw tables.
#: While it holds, a run rebuilds only the models downstream of what it loaded; every restore
#: clears it, so the build after a restore is whole.
WHOLE_BUILDS = "audit.whole_builds"
#: The data months whose marts the next build must (re)compute: a customs build marks its month,
#: a whole build every month, and a successful build clears them. Incremental models and the
#: data tests of the month-partitioned views read it, so a month's build works on that month.
MONTHS_TO_BUILD = "audit.months_to_build"
#: The digest of the table definitions (``ddl``) the warehouse was last brought up to date with:
#: a connection that finds the current one there skips the DDL (about 15 ms an open).
SCHEMA_VERSION = "audit.schema_version"
#: The month's partition as it was before the last load, to restore if a later step fails.
BEFORE_LOAD = "__before_load"

#: Every table the pipeline writes (dbt reads them as sources): name -> (column, type) pairs.
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    GACC_EXPORT_ROWS: (
        ("data_month", "date not null"),
        ("source_file_sha256", "varchar not null"),
        ("source_line", "integer not null"),
        ("file_month", "varchar"),
        ("hs8_code", "varchar"),
        ("commodity_name", "varchar"),
        ("partner_code", "varchar"),
        ("partner_name", "varchar"),
        ("regime_code", "varchar"),
        ("regime_name", "varchar"),
        ("province_code", "varchar"),
        ("province_name", "varchar"),
        ("quantity", "decimal(18, 3)"),
        ("unit", "varchar"),
        ("supplementary_quantity", "decimal(18, 3)"),
        ("supplementary_unit", "varchar"),
        ("value_usd", "decimal(18, 2)"),
        ("value_cny", "decimal(18, 2)"),
    ),
    GACC_EXPORT_FILES: (
        ("data_month", "date not null"),
        ("sha256", "varchar not null"),
        ("original_name", "varchar not null"),
        ("data_rows", "integer not null"),
        ("landed_at", "timestamptz not null"),
        ("landing_sequence", "integer not null"),
        ("header_language", "varchar not null"),
        ("has_partner_column", "boolean not null"),
        ("value_currency", "varchar"),
        # Each version's release (critmin.raw_zone): the day, how it is known, and whether it is
        # the file's current version (the others are the releases it superseded). Last, as older
        # warehouses gain them by ALTER TABLE.
        ("released_on", "date"),
        ("release_date_basis", "varchar"),
        ("is_current", "boolean"),
    ),
    GACC_TABLE_FIGURES: (
        ("release_month", "date not null"),
        ("source_file_sha256", "varchar not null"),
        ("source_line", "integer not null"),
        ("table_kind", "varchar not null"),
        ("flow", "varchar not null"),
        ("series_id", "varchar not null"),
        ("printed_as", "varchar not null"),
        ("period_kind", "varchar not null"),
        ("period_start", "date not null"),
        ("period_end", "date not null"),
        ("quantity", "decimal(18, 3)"),
        ("quantity_decimals", "integer"),
        ("value_printed", "decimal(24, 8)"),
        ("value_unit", "varchar"),
        ("value_currency", "varchar"),
        ("value", "decimal(24, 2)"),
        ("value_step", "decimal(24, 8)"),
        ("yoy_quantity_pct", "decimal(12, 2)"),
        ("yoy_value_pct", "decimal(12, 2)"),
    ),
    GACC_TABLE_FILES: (
        ("release_month", "date not null"),
        ("sha256", "varchar not null"),
        ("original_name", "varchar not null"),
        ("figures", "integer not null"),
        ("landed_at", "timestamptz not null"),
        ("landing_sequence", "integer not null"),
        ("table_kind", "varchar not null"),
        ("flow", "varchar not null"),
        ("value_currency", "varchar not null"),
        ("value_unit", "varchar not null"),
        ("file_type", "varchar not null"),
        ("title", "varchar not null"),
        # Each version's release (critmin.raw_zone): the day, how it is known, and whether it is
        # the file's current version (the others are the releases it superseded). Last, as older
        # warehouses gain them by ALTER TABLE.
        ("released_on", "date"),
        ("release_date_basis", "varchar"),
        ("is_current", "boolean"),
    ),
    "raw.register_agreements": (
        ("agreement_id", "varchar"),
        ("title", "varchar"),
        ("announced_on", "date"),
        ("is_binding", "boolean"),
        ("is_conditional", "boolean"),
        ("status", "varchar"),
        ("summary", "varchar"),
        ("source_file", "varchar"),
        ("file_sha256", "varchar"),
    ),
    "raw.register_agreement_parties": (
        ("agreement_id", "varchar"),
        ("party_order", "integer"),
        ("party_name", "varchar"),
        ("party_kind", "varchar"),
        ("country_iso2", "varchar"),
    ),
    "raw.register_agreement_instruments": (("agreement_id", "varchar"), ("instrument", "varchar")),
    "raw.register_agreement_amounts": (
        ("agreement_id", "varchar"),
        ("amount_order", "integer"),
        ("amount", "decimal(20, 2)"),
        ("currency", "varchar"),
        ("qualifier", "varchar"),
        ("purpose", "varchar"),
        ("is_headline", "boolean"),
        ("as_stated", "varchar"),
    ),
    "raw.register_agreement_terms": (("agreement_id", "varchar"), ("term", "varchar")),
    "raw.register_agreement_minerals": (("agreement_id", "varchar"), ("mineral", "varchar")),
    "raw.register_agreement_sources": (("agreement_id", "varchar"), ("source_url", "varchar")),
    "raw.register_policy_events": (
        ("event_id", "varchar"),
        ("event_on", "date"),
        ("authority", "varchar"),
        ("reference", "varchar"),
        ("event_type", "varchar"),
        ("summary", "varchar"),
        ("in_force_until", "date"),
        ("source_urls", "varchar"),
        ("source_file", "varchar"),
    ),
    "raw.register_fx_rates": (
        ("currency", "varchar"),
        ("usd_per_unit", "decimal(20, 10)"),
        ("valid_from", "date"),
        ("source", "varchar"),
    ),
    LOADS: (
        ("what", "varchar not null"),
        ("dag_id", "varchar not null"),
        ("run_id", "varchar not null"),
        ("loaded_at", "timestamptz not null"),
        ("gated_at", "timestamptz"),
        # While the run swaps serving.duckdb in: the staged file's identity (device:inode), which
        # serving.duckdb has once the rename happened, so recovery can tell a finished publish.
        ("publishing_serving", "varchar"),
        ("published_at", "timestamptz"),
    ),
    WHOLE_BUILDS: (
        ("project_fingerprint", "varchar not null"),
        ("built_at", "timestamptz not null"),
    ),
    MONTHS_TO_BUILD: (
        ("data_month", "date not null"),
        ("marked_at", "timestamptz not null"),
    ),
    QUALITY_RESULTS: (
        ("data_month", "date not null"),
        ("dataset", "varchar not null"),
        ("batch", "varchar not null"),
        ("rule", "varchar not null"),
        ("expectation_type", "varchar not null"),
        ("severity", "varchar not null"),
        ("success", "boolean not null"),
        ("observed_value", "varchar"),
        ("unexpected_count", "bigint"),
        ("validated_at", "timestamptz not null"),
        # The load these results gate (``YYYY-MM`` or ``registers``): restored with it. Last, as
        # older warehouses gain it by ALTER TABLE.
        ("what", "varchar"),
    ),
}
#: Columns added after a table was first created: an older warehouse's table (and its backup) gains
#: them by ALTER TABLE; they are each table's last columns.
ADDED_COLUMNS = {
    GACC_EXPORT_FILES: ("released_on", "release_date_basis", "is_current"),
    GACC_TABLE_FILES: ("released_on", "release_date_basis", "is_current"),
}
#: The register tables, replaced whole by each registers load.
REGISTER_TABLES = tuple(name for name in TABLES if name.startswith("raw.register_"))
#: Tables partitioned by ``data_month`` whose partition a customs load replaces.
CUSTOMS_PARTITIONED = (GACC_EXPORT_ROWS, GACC_EXPORT_FILES)
#: Tables partitioned by ``release_month`` whose partition a commodity tables load replaces.
TABLES_PARTITIONED = (GACC_TABLE_FIGURES, GACC_TABLE_FILES)
#: What a load of each partitioned source is called in the record of loads: a customs month is
#: ``YYYY-MM``, a release month of the commodity tables ``tables:YYYY-MM``. Prefix -> (tables,
#: partition column).
PARTITIONED = {"": (CUSTOMS_PARTITIONED, "data_month"), "tables:": (TABLES_PARTITIONED, "release_month")}
#: dbt snapshots of the registers (created by dbt, not here): a registers load keeps a copy, since
#: a build that fails after the snapshot ran has recorded a version that never passed its gates.
REGISTER_SNAPSHOTS = ("snapshots.snap_mineral_agreements",)
#: Every table a put-back restores from its ``__before_load`` copy.
BACKED_UP = (*CUSTOMS_PARTITIONED, *TABLES_PARTITIONED, *REGISTER_TABLES, QUALITY_RESULTS, LOADS)


def backup_of(table: str) -> str:
    """Where a load keeps what it replaced of ``table``; dbt's snapshots are copied into ``audit``."""
    if table in REGISTER_SNAPSHOTS:
        return f"audit.{table.split('.', 1)[1]}{BEFORE_LOAD}"
    return f"{table}{BEFORE_LOAD}"


@functools.cache
def ddl_digest() -> str:
    """What ``SCHEMA_VERSION`` holds once ``ddl`` has run: any change to the definitions changes it."""
    import hashlib

    return hashlib.sha256(ddl().encode()).hexdigest()


def ddl() -> str:
    """Create every schema and table that does not exist yet, and bring an older warehouse's
    tables up to date (idempotent)."""
    statements = ["create schema if not exists raw;", "create schema if not exists audit;"]
    for table, columns in TABLES.items():
        body = ",\n    ".join(f"{name} {kind}" for name, kind in columns)
        statements.append(f"create table if not exists {table} (\n    {body}\n);")
    # Warehouses from before the record of loads: results gain the load they gate.
    statements.append(f"alter table {QUALITY_RESULTS} add column if not exists what varchar;")
    statements.append(
        f"update {QUALITY_RESULTS} set what = case when dataset like 'register%' then 'registers' "
        "else strftime(data_month, '%Y-%m') end where what is null;"
    )
    statements.append(f"drop table if exists {LEGACY_LOADS};")
    for table in BACKED_UP:
        statements.append(f"create table if not exists {backup_of(table)} as from {table} limit 0;")
    statements.append(f"alter table {backup_of(QUALITY_RESULTS)} add column if not exists what varchar;")
    for table, added in ADDED_COLUMNS.items():
        kinds = dict(TABLES[table])
        for name in added:
            for target in (table, backup_of(table)):
                statements.append(f"alter table {target} add column if not exists {name} {kinds[name]};")
    statements.append(f"create table if not exists {SCHEMA_VERSION} (ddl_sha256 varchar not null);")
    return "\n".join(statements)
