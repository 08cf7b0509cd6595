"""The raw suite's batch of one download (see expectations/gacc_export_rows.json): its rows, read
from its parse (``parsed``) by DuckDB, with the columns the suite's rules need (the duplicate key,
whether a partner code is known, a partner name not as listed).

Built column by column from DuckDB: the values and dtypes pandas infers from the reader's Python
values (floats with NaN, Python strings with ``None``), without a Python object per record, and
with each distinct text value held once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from critmin import codes
from critmin.sources.gacc.parsed import COLUMN_OF_FIELD
from critmin.sources.gacc.read import FIELDS, NUMERIC_FIELDS

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from critmin.months import Month
    from critmin.settings import Settings
    from critmin.sources.gacc.parsed import ParsedFile

_KEY_FIELDS = ("month", "hs8_code", "partner_code", "regime_code", "province_code")


#: The table ``file_table`` leaves in its connection.
TABLE = "gacc_batch"


def file_table(
    connection: duckdb.DuckDBPyConnection,
    settings: Settings,
    parsed: ParsedFile,
    original_name: str,
    month: Month,
) -> str:
    """One download's rows as the raw suite's batch, as a table of ``connection`` in the file's
    order (the columns of ``file_frame``); returns the table's name."""
    layout = parsed.layout
    listed = codes.partner_names(settings.seeds_dir)
    pairs = [(code, name) for code, names in listed.items() for name in names]
    column = {field: f'"{COLUMN_OF_FIELD.get(field, field)}"' for field in FIELDS}
    values = {
        field: f"cast({column[field]} as double)" if field in NUMERIC_FIELDS else column[field]
        for field in FIELDS
    }
    key = " || '|' || ".join(f"coalesce({column[field]}, '')" for field in _KEY_FIELDS)
    known = (
        "coalesce(list_contains($known, partner_code), false)"
        if layout.has_partner
        else "cast(null as boolean)"
    )
    known_codes = {"known": sorted(codes.partner_codes(settings.seeds_dir))} if layout.has_partner else {}
    connection.execute(
        "create or replace temp table gacc_listed as "
        "select distinct unnest($codes) as code, unnest($names) as name",
        {"codes": [code for code, _ in pairs], "names": [name for _, name in pairs]},
    )
    connection.execute(
        f"""
        create or replace temp table {TABLE} as
        with parsed_rows as (
            select source_line, {", ".join(f"{v} as {f}" for f, v in values.items())},
                {key} as duplicate_key
            from read_parquet($path)
        )
        select $source_file as source_file, parsed_rows.source_line, $run_month as run_month,
            cast($data_rows as bigint) as file_data_rows,
            {", ".join(f"parsed_rows.{field}" for field in FIELDS)},
            parsed_rows.duplicate_key, {known} as partner_code_known,
            case when listed.name is null then parsed_rows.partner_name end as partner_name_unlisted
        from parsed_rows left join gacc_listed as listed
            on listed.code = coalesce(parsed_rows.partner_code, '')
            and listed.name = parsed_rows.partner_name
        order by parsed_rows.source_line
        """,
        {
            "path": str(parsed.path),
            "source_file": original_name,
            "run_month": str(month),
            "data_rows": parsed.data_rows,
            **known_codes,
        },
    )
    return TABLE


def file_frame(settings: Settings, parsed: ParsedFile, original_name: str, month: Month) -> pd.DataFrame:
    """One download's rows as the raw suite's batch, as a pandas frame: the values and dtypes
    pandas infers from the reader's Python values (what GX's pandas engine validated)."""
    import duckdb
    import pandas as pd

    layout = parsed.layout
    with duckdb.connect(config={"memory_limit": "1GB"}) as connection:
        table = file_table(connection, settings, parsed, original_name, month)

        def fetch(name: str) -> Any:
            return connection.execute(f"select {name} from {table} order by source_line").fetchnumpy()[name]

        rows = parsed.data_rows
        columns: dict[str, Any] = {
            "source_file": [original_name] * rows,
            "source_line": fetch("source_line"),
            "run_month": [str(month)] * rows,
            "file_data_rows": [rows] * rows,
        }
        for field in FIELDS:
            if field not in layout.fields:
                columns[field] = [None] * rows
            elif field in NUMERIC_FIELDS:
                columns[field] = _numbers(fetch(field))
            else:
                columns[field] = _texts(fetch(field), shared=True)
        columns["duplicate_key"] = _texts(fetch("duplicate_key"), shared=False)
        columns["partner_code_known"] = fetch("partner_code_known") if layout.has_partner else [None] * rows
        columns["partner_name_unlisted"] = _texts(fetch("partner_name_unlisted"), shared=True)
    return pd.DataFrame(columns)


def _numbers(array: Any) -> Any:
    """Floats with NaN for NULL, as pandas makes of floats and ``None``; all ``None`` if all NULL."""
    import numpy as np

    mask = np.ma.getmaskarray(array)
    if mask.all():
        return [None] * len(array)
    return np.where(mask, np.nan, np.ma.getdata(array))


def _texts(array: Any, *, shared: bool) -> list[str | None]:
    """Python strings with ``None`` for NULL; ``shared``: one object per distinct value."""
    import numpy as np

    values = np.ma.getdata(array).astype(object)
    values[np.ma.getmaskarray(array)] = None
    texts: list[str | None] = values.tolist()
    if shared:
        distinct: dict[str | None, str | None] = {}
        texts = [distinct.setdefault(text, text) for text in texts]
    return texts
