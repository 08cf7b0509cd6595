"""Set up a benchmark home beside the pipeline, without Airflow: run by ``bench/run.py`` as its own
process (``python -m bench.history ...``), never on a real ``$CRITMIN_HOME``.

``registers HOME``
    Load the curated registers (``data/registers/``) into the home's warehouse, as the registers
    DAG would (without its gate: the files in git are validated by ``make test``), so the
    export-control events are in the marts the BI queries read.

``fill HOME --month-1 YYYY-MM --months N --template-month YYYY-MM FILE...``
    History in bulk: replace every customs partition of the home's warehouse with N SYNTHETIC
    months (month 1 and the N - 1 months after it), then build every model once (dbt, full
    refresh), as the first build after a change to the project would. Running N months through
    the pipeline would take hours; this takes a minute. Each month is the rows of the FILEs (one
    month of ``bench.synthetic`` downloads, parsed with DuckDB as the baseline does) with every
    quantity and value multiplied by a seeded factor between 0.80 and 1.20 per month, so months
    differ and each month's world total still equals the sum over its partners, exactly.
    ``raw.gacc_export_files`` gets one row per file and month, with made-up sha256 and landing
    sequences. Nothing goes through the raw zone: only the month the benchmark then runs through
    the pipeline does.

    The home also gets the stored validation results a real home would hold for those months
    (Great Expectations results under ``gx/``, with their Data Docs pages), so that month 120's
    validations update a site that lists ten years of them: for each month, a copy of every
    result of the template month's run (the bench's month 1, run through the pipeline before the
    fill), with the month changed throughout, run name ``customs_monthly YYYY-MM SYNTHETIC``, a
    run time after the month, and ``meta.critmin_synthetic`` saying where it comes from. No
    template run in the home: no results are added.

Each command prints one JSON line (seconds, rows) as its last line of output.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.baseline import transcode  # noqa: E402  (the baseline's transcoding)
from critmin.months import Month  # noqa: E402
from critmin.settings import Settings  # noqa: E402

#: The text columns copied from a download into ``raw.gacc_export_rows`` (the numbers are cast).
TEXT_FIELDS = (
    "hs8_code",
    "commodity_name",
    "partner_code",
    "partner_name",
    "regime_code",
    "regime_name",
    "province_code",
    "province_name",
    "unit",
    "supplementary_unit",
)
NUMBER_FIELDS = {
    "quantity": "decimal(18, 3)",
    "supplementary_quantity": "decimal(18, 3)",
    "value_usd": "decimal(18, 2)",
    "value_cny": "decimal(18, 2)",
}


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _template_select(header_line: str) -> tuple[str, bool]:
    """The select list reading one download as ``raw.gacc_export_rows`` columns, and whether the
    download has a partner column."""
    import csv
    import io

    from critmin.sources.gacc.read import HEADERS

    header = next(csv.reader(io.StringIO(header_line)))
    found = {field: name for field, names in HEADERS.items() for name in names if name in header}
    cells = []
    for field in TEXT_FIELDS:
        if field in found:
            cells.append(f"nullif({_quote(found[field])}, '?') as {field}")
        else:
            cells.append(f"null as {field}")
    for field, kind in NUMBER_FIELDS.items():
        if field in found:
            cells.append(f"cast(nullif(replace({_quote(found[field])}, ',', ''), '?') as {kind}) as {field}")
        else:
            cells.append(f"cast(null as {kind}) as {field}")
    return ", ".join(cells), "partner_code" in found


def month_factors(first: Month, count: int, seed: int) -> list[tuple[Month, float]]:
    """Each month and its factor, 0.80 to 1.20 in steps of 0.01 (exact in the decimal columns)."""
    rng = random.Random(f"critmin.bench.history/{seed}")
    return [(first.shifted(index), rng.randint(80, 120) / 100) for index in range(count)]


def fill(
    home: Path, first: Month, count: int, files: list[Path], seed: int, template_month: Month
) -> dict[str, object]:
    import duckdb

    from critmin.transform import build
    from critmin.warehouse.tables import GACC_EXPORT_FILES, GACC_EXPORT_ROWS

    settings = Settings.for_home(home)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="critmin-bench-fill-", dir=home) as scratch:
        connection = duckdb.connect(str(settings.paths.warehouse_db))
        connection.execute(
            "create temp table template as select "
            "0 as file_index, 0 as source_line, false as has_partner, "
            + ", ".join(
                [f"cast(null as varchar) as {f}" for f in TEXT_FIELDS]
                + [f"cast(null as {k}) as {f}" for f, k in NUMBER_FIELDS.items()]
            )
            + " limit 0"
        )
        names, partnered = [], []
        for index, path in enumerate(files):
            utf8 = Path(scratch) / f"{index}.csv"
            select, has_partner = _template_select(transcode(path, utf8))
            connection.execute(
                f"""
                insert into template by name
                select {index} as file_index, cast(row_number() over () + 1 as integer) as source_line,
                    {has_partner} as has_partner, {select}
                from read_csv(?, header = true, all_varchar = true, delim = ',', quote = '"', escape = '"')
                """,
                [str(utf8)],
            )
            names.append(path.name)
            partnered.append(has_partner)
        per_file = dict(connection.execute("select file_index, count(*) from template group by 1").fetchall())
        connection.execute(f"delete from {GACC_EXPORT_ROWS}")
        connection.execute(f"delete from {GACC_EXPORT_FILES}")
        rows = 0
        now = datetime.now(UTC)
        for number, (month, factor) in enumerate(month_factors(first, count, seed)):
            connection.execute("begin")
            for index, name in enumerate(names):
                sha = hashlib.sha256(f"SYNTHETIC bulk {month} {name}".encode()).hexdigest()
                original = name.replace(str(template_month), str(month))
                connection.execute(
                    f"""
                    insert into {GACC_EXPORT_ROWS} by name
                    select
                        $month as data_month, $sha as source_file_sha256, source_line,
                        {", ".join(TEXT_FIELDS)},
                        cast(quantity * $factor as decimal(18, 3)) as quantity,
                        cast(supplementary_quantity * $factor as decimal(18, 3)) as supplementary_quantity,
                        cast(value_usd * $factor as decimal(18, 2)) as value_usd,
                        cast(value_cny * $factor as decimal(18, 2)) as value_cny
                    from template where file_index = $index
                    """,
                    {"month": month.first_day, "sha": sha, "factor": factor, "index": index},
                )
                connection.execute(
                    # released the day it was filled (basis "landing"), the current version
                    f"insert into {GACC_EXPORT_FILES} "
                    "values (?, ?, ?, ?, ?, ?, 'en', ?, 'USD', ?, 'landing', true)",
                    [
                        month.first_day,
                        sha,
                        original,
                        per_file.get(index, 0),
                        now,
                        1_000_000 + number * len(names) + index,
                        partnered[index],
                        now.date(),
                    ],
                )
                rows += per_file.get(index, 0)
            connection.execute("commit")
        connection.execute("checkpoint")
        connection.close()
    filled = time.perf_counter() - started
    started = time.perf_counter()
    build(settings)  # no source named: a whole build, every model for every month (full refresh)
    built = time.perf_counter() - started
    started = time.perf_counter()
    results = fill_validation_results(
        settings, [month for month, _ in month_factors(first, count, seed)], template_month
    )
    return {
        "months": count,
        "rows": rows,
        "fill_s": filled,
        "whole_build_s": built,
        "validation_results": results,
        "validation_results_s": time.perf_counter() - started,
    }


#: The run name of the pipeline's validations of a month (``critmin.sources.gacc.gate``).
RUN_NAME = "customs_monthly {month}"
#: GX's run time in its store paths.
RUN_TIME_FORMAT = "%Y%m%dT%H%M%S.%fZ"


def template_results(store: Path, template_month: Month) -> list[Path]:
    """The stored results of the template month's latest run: one file per suite and batch."""
    latest: dict[tuple[str, str], Path] = {}
    for path in sorted(store.glob(f"*/{RUN_NAME.format(month=template_month)}/*/*.json")):
        key = (path.parts[-4], path.name)
        if key not in latest or path.parent.name > latest[key].parent.name:
            latest[key] = path
    return [latest[key] for key in sorted(latest)]


def fill_validation_results(settings: Settings, months: list[Month], template_month: Month) -> int:
    """SYNTHETIC stored validation results (and their Data Docs pages) for ``months``: copies of
    the template month's, see the module's docstring. Returns how many were written."""
    from critmin.quality.validation import add_stored_results_to_data_docs

    store = settings.paths.gx_state / "validations"
    templates = template_results(store, template_month)
    if not templates:
        return 0
    written = []
    for month in months:
        run_name = f"{RUN_NAME.format(month=month)} SYNTHETIC"
        after = month.shifted(1).first_day
        for index, template in enumerate(templates):
            run_time = datetime(after.year, after.month, after.day, 6, 0, index, tzinfo=UTC)
            text = template.read_text(encoding="utf-8").replace(str(template_month), str(month))
            result = json.loads(text)
            meta = result.setdefault("meta", {})
            meta["run_id"] = {"run_name": run_name, "run_time": run_time.isoformat()}
            meta["validation_time"] = run_time.isoformat()
            meta["critmin_synthetic"] = (
                f"bench/history.py: a copy of the stored result of {RUN_NAME.format(month=template_month)} "
                f"({template.name}) with the month changed to {month}; not a validation of any data"
            )
            batch = template.name.replace(str(template_month), str(month))
            target = store / template.parts[-4] / run_name / run_time.strftime(RUN_TIME_FORMAT) / batch
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
            written.append(target)
    return add_stored_results_to_data_docs(
        written, docs_dir=settings.paths.quality_docs, gx_dir=settings.paths.gx_state
    )


def load_registers(home: Path) -> dict[str, object]:
    from critmin.sources.registers.load import load_registers as load
    from critmin.sources.registers.read import read_registers

    settings = Settings.for_home(home)
    started = time.perf_counter()
    agreements = load(settings, read_registers(settings.registers_dir), Month.of(date.today()))
    return {"agreements": agreements, "seconds": time.perf_counter() - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    registers = commands.add_parser("registers")
    registers.add_argument("home", type=Path)
    bulk = commands.add_parser("fill")
    bulk.add_argument("home", type=Path)
    bulk.add_argument("--month-1", type=Month.parse, required=True)
    bulk.add_argument("--months", type=int, required=True)
    bulk.add_argument("--template-month", type=Month.parse, required=True, help="the FILEs' month")
    bulk.add_argument("--seed", type=int, default=20251120)
    bulk.add_argument("files", type=Path, nargs="+")
    args = parser.parse_args(argv)
    if args.command == "registers":
        result = load_registers(args.home)
    else:
        result = fill(args.home, args.month_1, args.months, args.files, args.seed, args.template_month)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
