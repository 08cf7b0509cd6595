"""The baseline: one month of GACC downloads into DuckDB with a plain Python script.

What a data engineer would write without critmin: no orchestrator, no quality gates, no raw zone,
no dbt. It does the same parsing, loading and mart SQL as a pipeline run, so the difference between
the two is the price of everything else (Airflow, Great Expectations, dbt, the raw zone, the
serving copy):

1. transcode each GB18030 download to UTF-8 with Python's codec (streaming, large chunks);
2. read it with DuckDB's ``read_csv`` (every column as text), strip the thousands separators and
   cast the numbers;
3. replace the month's rows of a raw table in a persistent DuckDB file, in one transaction;
4. the mart: the month's magnet rows (HS 85051110) summed per partner, the world total from the
   commodity-only download, month-over-month and year-over-year against exactly the previous month
   and the same month a year earlier (NULL when that month is absent), and each partner's share of
   the world; the fact rows of the month and of the two months whose changes it feeds (the next
   month, the same month next year) are replaced.

It imports nothing but the standard library and ``duckdb``: run as its own process, its fixed
cost is Python's start and the ``duckdb`` import, as a cron job's would be.

    python bench/baseline.py --db /tmp/baseline.duckdb --month 2025-01 SYNTHETIC_*.csv

Prints one JSON line: the month, the rows loaded, the fact rows written and the seconds of each
phase.
"""

from __future__ import annotations

import time

_STARTED = time.perf_counter()

import argparse  # noqa: E402  (the import time of duckdb is measured from here)
import codecs  # noqa: E402
import csv  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402

import duckdb  # noqa: E402

_IMPORTED = time.perf_counter()

MAGNET_HS8 = ("85051110",)
#: critmin's partner code for a commodity-only download (``world_partner_code`` in dbt_project.yml).
WORLD_PARTNER = "000"
CHUNK = 16 << 20

#: The columns read, and the headers GACC writes for them (English, Chinese).
HEADERS = {
    "hs8_code": ("Commodity code", "商品编码"),
    "partner_code": ("Trading partner code", "贸易伙伴编码"),
    "regime_code": ("Customs Regime code", "贸易方式编码"),
    "province_code": ("Locations of importers and exporters code", "注册地编码"),
    "quantity": ("Quantity", "第一数量"),
    "unit": ("Unit", "第一计量单位"),
    "value_usd": ("US dollar", "美元"),
}
NUMBERS = {"quantity": "decimal(18, 3)", "value_usd": "decimal(18, 2)"}

SCHEMA = """
create table if not exists raw_rows (
    data_month date not null,
    source_file varchar not null,
    has_partner boolean not null,
    hs8_code varchar,
    partner_code varchar,
    regime_code varchar,
    province_code varchar,
    quantity decimal(18, 3),
    unit varchar,
    value_usd decimal(18, 2)
);
create table if not exists fct_magnet_exports_monthly (
    month date not null,
    hs8_code varchar not null,
    partner_code varchar not null,
    quantity_kg decimal(38, 3),
    value_usd decimal(38, 2),
    mom_pct double,
    yoy_pct double,
    share_of_world_pct double
);
"""

DELETE_FACTS = "delete from fct_magnet_exports_monthly where month in (select unnest($months))"
MART = """
insert into fct_magnet_exports_monthly
with exports as (
    select
        data_month as month,
        hs8_code,
        case when has_partner then partner_code else $world end as partner_code,
        sum(quantity) as quantity_kg,
        sum(value_usd) as value_usd
    from raw_rows
    where hs8_code in (select unnest($codes))
        and data_month in (select unnest($needed))
    group by all
)
select
    exports.month,
    exports.hs8_code,
    exports.partner_code,
    exports.quantity_kg,
    exports.value_usd,
    round(100 * (exports.quantity_kg / nullif(previous_month.quantity_kg, 0) - 1), 2),
    round(100 * (exports.quantity_kg / nullif(previous_year.quantity_kg, 0) - 1), 2),
    round(100 * exports.quantity_kg / nullif(world.quantity_kg, 0), 2)
from exports
left join exports as previous_month
    on exports.hs8_code = previous_month.hs8_code
    and exports.partner_code = previous_month.partner_code
    and previous_month.month = cast(exports.month - interval 1 month as date)
left join exports as previous_year
    on exports.hs8_code = previous_year.hs8_code
    and exports.partner_code = previous_year.partner_code
    and previous_year.month = cast(exports.month - interval 12 month as date)
left join exports as world
    on exports.hs8_code = world.hs8_code
    and exports.month = world.month
    and world.partner_code = $world
where exports.month in (select unnest($months))
"""


def shift(month: str, months: int) -> date:
    """The first day of ``YYYY-MM`` shifted by ``months``."""
    year, number = (int(part) for part in month.split("-"))
    index = year * 12 + number - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def transcode(source: Path, target: Path, encoding: str = "gb18030") -> str:
    """Stream ``source`` into ``target`` as UTF-8; return the header line."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with source.open("rb") as raw, target.open("wb") as out:
        while chunk := raw.read(CHUNK):
            out.write(decoder.decode(chunk).encode("utf-8"))
        out.write(decoder.decode(b"", final=True).encode("utf-8"))
    with target.open(encoding="utf-8") as text:
        return text.readline()


def columns(header_line: str) -> dict[str, str]:
    """Each column read -> the header this file uses for it (absent columns are left out)."""
    header = next(csv.reader(io.StringIO(header_line)))
    found = {}
    for field, names in HEADERS.items():
        for name in names:
            if name in header:
                found[field] = name
    return found


def select_list(found: dict[str, str]) -> str:
    cells = []
    for field in HEADERS:
        if field not in found:
            cells.append(f"null as {field}")
            continue
        column = '"' + found[field].replace('"', '""') + '"'
        if field in NUMBERS:
            cells.append(f"cast(nullif(replace({column}, ',', ''), '?') as {NUMBERS[field]}) as {field}")
        else:
            cells.append(f"nullif({column}, '?') as {field}")
    return ", ".join(cells)


def load_month(db: Path, month: str, files: list[Path], scratch: Path) -> dict[str, object]:
    seconds: dict[str, float] = {"import_duckdb": _IMPORTED - _STARTED}
    started = time.perf_counter()
    utf8 = []
    for index, path in enumerate(files):
        target = scratch / f"{index}.csv"
        utf8.append((path, target, columns(transcode(path, target))))
    seconds["transcode"] = time.perf_counter() - started

    started = time.perf_counter()
    first_day = shift(month, 0)
    connection = duckdb.connect(str(db))
    connection.execute(SCHEMA)
    connection.execute("begin")
    connection.execute("delete from raw_rows where data_month = ?", [first_day])
    rows = 0
    for path, target, found in utf8:
        if "hs8_code" not in found or "quantity" not in found:
            raise SystemExit(f"{path}: no commodity code or quantity column")
        inserted = connection.execute(
            f"""
            insert into raw_rows
            select ?, ?, ?, {select_list(found)}
            from read_csv(?, header = true, all_varchar = true, delim = ',', quote = '"', escape = '"')
            """,
            [first_day, path.name, "partner_code" in found, str(target)],
        ).fetchone()
        rows += inserted[0] if inserted else 0
    connection.execute("commit")
    seconds["read_and_load"] = time.perf_counter() - started

    started = time.perf_counter()
    months = [first_day, shift(month, 1), shift(month, 12)]
    needed = sorted({shift(month, offset) for offset in (-12, -11, -1, 0, 1, 11, 12)})
    connection.execute("begin")
    connection.execute(DELETE_FACTS, {"months": months})
    connection.execute(
        MART, {"months": months, "needed": needed, "codes": list(MAGNET_HS8), "world": WORLD_PARTNER}
    )
    connection.execute("commit")
    fact_rows = connection.execute(
        "select count(*) from fct_magnet_exports_monthly where month = ?", [first_day]
    ).fetchone()
    connection.close()
    seconds["mart"] = time.perf_counter() - started
    seconds["in_script"] = time.perf_counter() - _STARTED
    return {"month": month, "rows": rows, "fact_rows": fact_rows[0] if fact_rows else 0, "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="the DuckDB file (created if absent)")
    parser.add_argument("--month", required=True, help="the data month, YYYY-MM")
    parser.add_argument("files", type=Path, nargs="+", help="the month's GACC downloads (GB18030 CSV)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="critmin-baseline-", dir=args.db.parent) as scratch:
        result = load_month(args.db, args.month, args.files, Path(scratch))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
