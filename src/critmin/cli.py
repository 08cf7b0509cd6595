"""``critmin``: the commands behind ``make demo`` and ``make run-month``.

critmin demo                 copy the sample downloads into the landing folder, run every month
critmin run-month 2025-05    run customs_monthly for one data month (exit 1 if it fails)
critmin run-tables 2025-04   run commodity_tables for one release month (GACC's headline tables)
critmin show [--month M]     print a month's magnet exports from serving.duckdb
critmin brief 2025-09        (re)write a month's brief from serving.duckdb (--as-of DAY: as it read then)
critmin docs                 build the dbt docs site under $CRITMIN_HOME/docs/
critmin analysis [NAME]      run a worked query of dbt_project/analyses/ on serving.duckdb
critmin airflow [--port P]   Airflow's UI, scheduler and REST API on this machine, until Ctrl-C
critmin warehouse status     who holds the warehouse, and the loads not yet published
critmin warehouse release --run RUN_ID
                             free the warehouse from a run that crashed (puts back what it loaded)
critmin backup DEST          a consistent copy of $CRITMIN_HOME in DEST/critmin-home-<time>/, between runs
critmin rebuild --into DIR   a new home at DIR, rebuilt from this home's raw zone alone
"""

from __future__ import annotations

import argparse
import filecmp
import io
import os
import shutil
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from critmin.errors import CritminError, InputError, disk_full_message, is_disk_full
from critmin.months import Month
from critmin.settings import Settings, repo_root
from critmin.steps.customs_monthly import check_not_in_future
from critmin.warehouse.connection import use_resources

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

SAMPLE_LANDING = Path("data") / "sample" / "landing"
CUSTOMS_SOURCE = Path("gacc") / "export"
TABLES_SOURCE = Path("gacc") / "tables"


def copy_sample_landing(
    settings: Settings, sample: Path | None = None, source: Path = CUSTOMS_SOURCE
) -> list[str]:
    """Copy a source's sample files into ``$CRITMIN_HOME/landing``; return the months, sorted.

    A file already there with the same name is left alone when identical, and never overwritten.
    """
    sample = sample or repo_root() / SAMPLE_LANDING
    months = set()
    for source_file in sorted((sample / source).rglob("*.*")):
        relative = source_file.relative_to(sample)
        target = settings.paths.landing / relative
        months.add(relative.parent.name)
        if target.exists():
            if not filecmp.cmp(source_file, target, shallow=False):
                print(f"  kept your {target} (differs from the sample file)", file=sys.stderr)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source_file, target)
    return sorted(months)


def _format(value: object, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, (float, Decimal)):
        return f"{value:,.{digits}f}"
    return str(value)


def month_table(settings: Settings, month: Month | str | None = None) -> str:
    """The month's rows of ``marts.fct_magnet_exports_monthly`` from ``serving.duckdb``, as text."""
    from critmin.serving import open_serving

    paths = settings.paths
    codes = list(settings.domain.magnet_hs8_codes)
    if not paths.serving_db.exists():
        raise SystemExit(f"{paths.serving_db} does not exist yet: run `make demo` first")
    with open_serving(paths.serving_db) as serving:
        if month is None:
            latest = serving.execute(
                "select strftime(max(month), '%Y-%m') from marts.fct_magnet_exports_monthly"
            ).fetchone()
            month = latest[0] if latest else None
            if month is None:
                return "marts.fct_magnet_exports_monthly is empty"
        rows = serving.execute(
            """
            select partner_name, partner_iso3, quantity_t, mom_pct, yoy_pct, share_of_world_pct
            from marts.fct_magnet_exports_monthly
            where month = ? and hs8_code in (select unnest(?))
            order by partner_iso3 = 'WLD' desc, quantity_t desc
            """,
            [Month.parse(month).first_day, codes],
        ).fetchall()
    header = ("partner", "iso3", "tonnes", "m/m %", "y/y %", "share %")
    body = [
        (name or "?", iso3 or "", _format(t, 1), _format(mom), _format(yoy), _format(share))
        for name, iso3, t, mom, yoy, share in rows
    ]
    widths = [max(len(str(r[i])) for r in [header, *body]) for i in range(len(header))]
    lines = [
        f"China's rare-earth magnet exports (HS {', '.join(codes)}), {month}, from {paths.serving_db}",
        "  ".join(
            h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True))
        ),
    ]
    for row in body:
        lines.append(
            "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    lines.append("— = no figure for the comparison month (not published): no change is computed.")
    return "\n".join(lines)


def headline_table(settings: Settings, month: Month | str | None = None) -> str:
    """GACC's headline series (``marts.fct_commodity_trade``) for a month, from ``serving.duckdb``:
    each single month and year to date ending in it."""
    from critmin.serving import open_serving

    paths = settings.paths
    with open_serving(paths.serving_db) as serving:
        if month is None:
            latest = serving.execute(
                "select strftime(max(period_end), '%Y-%m') from marts.fct_commodity_trade"
            ).fetchone()
            month = latest[0] if latest else None
            if month is None:
                return "marts.fct_commodity_trade is empty"
        rows = serving.execute(
            """
            select commodity || ' ' || flow || 's', period_kind, quantity_t, mom_pct, yoy_pct,
                   yoy_quantity_pct_printed, release_kind
            from marts.fct_commodity_trade
            where period_end = ?
            order by series_id, period_kind desc
            """,
            [Month.parse(month).first_day],
        ).fetchall()
    header = ("series", "period", "tonnes", "m/m %", "y/y %", "y/y % printed", "release")
    body = [(s, k, _format(t, 1), _format(m), _format(y), _format(p), r) for s, k, t, m, y, p, r in rows]
    title = f"China's headline rare-earth trade (GACC commodity tables), {month}, from {paths.serving_db}"
    return "\n".join([title, format_rows(header, body)])


def _serving_identity(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def months_to_backfill(
    settings: Settings, first: Month, last: Month, *, report: Callable[[str], None] = print
) -> list[Month]:
    """The data months from ``first`` to ``last`` whose landing folder holds files, in order; says
    which months of the range have none (they stay missing: nothing is run for them)."""
    if last < first:
        raise ValueError(f"the range {first} to {last} ends before it starts: give FROM <= TO")
    check_not_in_future(last, Month.of(date.today()))
    wanted: list[Month] = []
    missing: list[Month] = []
    month = first
    while month <= last:
        folder = settings.paths.landing_dir(str(CUSTOMS_SOURCE), str(month))
        has_files = folder.is_dir() and any(not p.name.startswith(".") for p in folder.iterdir())
        (wanted if has_files else missing).append(month)
        month = month.shifted(1)
    if missing:
        report(
            f"No files in the landing folder for {len(missing)} of the {len(wanted) + len(missing)} months "
            f"({', '.join(map(str, missing))}): not run, they stay missing. "
            f"To add one, put its downloads in {settings.paths.landing / CUSTOMS_SOURCE}/YYYY-MM/."
        )
    if not wanted:
        landing = settings.paths.landing / CUSTOMS_SOURCE
        report(f"Nothing to run: no month from {first} to {last} has files in {landing}.")
    return wanted


def _run(
    settings: Settings,
    months: Sequence[Month | str],
    dag_id: str = "customs_monthly",
    *,
    backfill: bool = False,
) -> int:
    from critmin.embedded import run_months

    before = _serving_identity(settings.paths.serving_db)
    outcomes = run_months(settings, months, dag_id=dag_id, backfill=backfill)
    failed = [o for o in outcomes if not o.ok]
    if failed or len(outcomes) < len(months):
        published = [o.month for o in outcomes if o.ok]
        if failed and failed[0].published:
            tasks = ", ".join(failed[0].failed_tasks) or "a task after publish"
            not_run = [str(m) for m in months[len(outcomes) :]]
            print(
                f"{dag_id} {failed[0].month}: the month was published, then {tasks} failed."
                + (f" Not run: {', '.join(not_run)}." if not_run else ""),
                file=sys.stderr,
            )
            return 1
        if _serving_identity(settings.paths.serving_db) == before:
            state = "the published serving.duckdb is unchanged"
        elif published:
            state = f"serving.duckdb holds what this command published before ({', '.join(published)})"
        else:
            state = "serving.duckdb was replaced meanwhile by another run's publish, not by this one"
        print(f"{dag_id} failed for {failed[0].month}: {state}.", file=sys.stderr)
        return 1
    return 0


def format_rows(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Rows as an aligned text table, numbers to the right (NULL shows as —)."""
    cells = [[_format(value, 2) for value in row] for row in rows]
    numeric = [
        all(row[i] is None or isinstance(row[i], (int, float, Decimal)) for row in rows)
        for i in range(len(columns))
    ]
    widths = [max(len(text) for text in [name, *(row[i] for row in cells)]) for i, name in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(values, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join([line(columns), *(line(row) for row in cells)])


def _analysis(settings: Settings, name: str | None, assignments: Sequence[str], sql_only: bool) -> int:
    import yaml

    from critmin import analyses

    if name is None:
        print("Worked queries in dbt_project/analyses/ (each file's header says what it answers):")
        for known in analyses.analysis_names(settings):
            print(f"  {known}")
        return 0
    variables = {}
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        if not sep:
            raise SystemExit(f"--var takes key=value, not {assignment!r}")
        variables[key] = yaml.safe_load(value)
    if sql_only:
        print(analyses.compile_analyses(settings, [name], variables)[name])
        return 0
    result = analyses.run(settings, name, variables)
    print(format_rows(result.columns, result.rows))
    print(f"({len(result.rows)} rows from {settings.paths.serving_db})")
    return 0


def _warehouse_command(settings: Settings, args: argparse.Namespace) -> int:
    """warehouse status and warehouse release: the operator's commands (critmin.operations.warehouse)."""
    from critmin.embedded import metadata_run_state
    from critmin.operations import warehouse as operations

    run_state = metadata_run_state(settings)
    if args.action == "status":
        print("\n".join(operations.status(settings, run_state).lines(settings)))
        return 0
    print(operations.release(settings, args.run, run_state))
    return 0


def _embedded_command(parser: argparse.ArgumentParser, settings: Settings, args: argparse.Namespace) -> int:
    """run-registers, demo, run-month and run-tables: DAG runs in this process (critmin.embedded)."""
    from critmin.embedded import run_registers

    if args.command == "run-registers":
        return 0 if run_registers(settings).ok else 1
    if args.command == "demo":
        if not run_registers(settings).ok:
            return 1
        months = copy_sample_landing(settings)
        print(f"Sample downloads copied to {settings.paths.landing / CUSTOMS_SOURCE} ({len(months)} months).")
        releases = copy_sample_landing(settings, source=TABLES_SOURCE)
        tables = settings.paths.landing / TABLES_SOURCE
        print(f"Sample tables copied to {tables} ({len(releases)} release months).")
        status = _run(settings, months) or _run(settings, releases, "commodity_tables")
        if status == 0:
            print()
            print(month_table(settings))
            print()
            print(headline_table(settings))
        return status
    if args.command == "backfill":
        try:
            to_run = months_to_backfill(settings, Month.parse(args.first), Month.parse(args.last))
        except (ValueError, InputError) as exc:
            parser.error(str(exc))
        return _run(settings, to_run, backfill=args.backfill) if to_run else 1
    try:
        month = Month.parse(args.month)
        check_not_in_future(month, Month.of(date.today()))
    except (ValueError, InputError) as exc:
        parser.error(str(exc))
    if args.command == "run-tables":
        status = _run(settings, [month], "commodity_tables", backfill=args.backfill)
        if status == 0:
            print(headline_table(settings, month))
        return status
    status = _run(settings, [month], backfill=args.backfill)
    if status == 0:
        print(month_table(settings, month))
    return status


BACKFILL_HELP = (
    "add earlier releases to the history: land files released before one already landed for the month"
)


def main(argv: Sequence[str] | None = None) -> int:
    if not isinstance(sys.stdout, _Console):
        sys.stdout = _Console(sys.stdout)
    parser = argparse.ArgumentParser(prog="critmin", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="land the sample downloads and run every sample month")
    run_month = commands.add_parser("run-month", help="run customs_monthly for one data month")
    run_month.add_argument("month", help="data month, YYYY-MM")
    run_month.add_argument(
        "--backfill",
        action="store_true",
        help=BACKFILL_HELP,
    )
    run_tables = commands.add_parser("run-tables", help="run commodity_tables for one release month")
    run_tables.add_argument("month", help="release month, YYYY-MM (the latest month the tables cover)")
    run_tables.add_argument(
        "--backfill",
        action="store_true",
        help=BACKFILL_HELP,
    )
    backfill = commands.add_parser(
        "backfill", help="run customs_monthly for every landed data month from FROM to TO, in one process"
    )
    backfill.add_argument("first", metavar="FROM", help="first data month, YYYY-MM")
    backfill.add_argument("last", metavar="TO", help="last data month, YYYY-MM")
    backfill.add_argument("--backfill", action="store_true", help=BACKFILL_HELP)
    commands.add_parser("run-registers", help="validate, load and publish the registers")
    show = commands.add_parser("show", help="print a month's magnet exports from serving.duckdb")
    show.add_argument("--month", help="YYYY-MM (default: the latest month)")
    brief = commands.add_parser("brief", help="(re)write a month's brief from serving.duckdb")
    brief.add_argument("month", help="data month, YYYY-MM")
    brief.add_argument(
        "--as-of",
        type=date.fromisoformat,
        help="YYYY-MM-DD: the brief as it read on that day (written to briefs/as-of-YYYY-MM-DD/)",
    )
    commands.add_parser("docs", help="build the dbt docs site under $CRITMIN_HOME/docs/dbt/")
    analysis = commands.add_parser("analysis", help="run a worked query of dbt_project/analyses/")
    analysis.add_argument("name", nargs="?", help="the analysis (none: list them)")
    analysis.add_argument("--var", action="append", default=[], help="a parameter, key=value")
    analysis.add_argument("--sql", action="store_true", help="print the SQL compiled for serving.duckdb")
    airflow = commands.add_parser(
        "airflow", help="Airflow's UI, scheduler and REST API on this machine (LocalExecutor), until Ctrl-C"
    )
    airflow.add_argument("--port", type=int, default=8080, help="the UI and REST API port (default 8080)")
    warehouse = commands.add_parser("warehouse", help="who holds the warehouse; free it from a crashed run")
    actions = warehouse.add_subparsers(dest="action", required=True)
    actions.add_parser("status", help="the lease holder, its stage and Airflow state, loads not published")
    release = actions.add_parser(
        "release", help="put back what a crashed run loaded and free the warehouse (refused while it runs)"
    )
    release.add_argument("--run", required=True, help="the DAG run id holding the warehouse (see status)")
    backup = commands.add_parser("backup", help="a consistent copy of $CRITMIN_HOME, taken between runs")
    backup.add_argument("destination", type=Path, help="the folder the copy is written into")
    rebuild = commands.add_parser("rebuild", help="rebuild the warehouse from the raw zone, into a new home")
    rebuild.add_argument("--into", type=Path, required=True, help="a new, empty folder: the rebuilt home")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    use_resources(settings.duckdb_resources())
    try:
        return _command(parser, settings, args)
    except Exception as error:  # a full disk is said as such, wherever it struck (Airflow's start too)
        if isinstance(error, CritminError) or not is_disk_full(error, settings.paths.home):
            raise
        print(f"critmin {args.command}: {disk_full_message(error, settings.paths.home)}", file=sys.stderr)
        return 1


def _command(parser: argparse.ArgumentParser, settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "airflow":
        from critmin.local_airflow import serve

        return serve(settings, args.port)
    if args.command in ("run-registers", "demo", "run-month", "run-tables", "backfill"):
        from critmin.airflow_home import AirflowRunningError
        from critmin.embedded import RunInterrupted

        try:
            return _embedded_command(parser, settings, args)
        except AirflowRunningError as error:
            print(f"critmin {args.command}: {error}", file=sys.stderr)
            return 1
        except RunInterrupted:
            print(f"critmin {args.command}: interrupted (Ctrl-C).", file=sys.stderr)
            return 130
    try:
        if args.command == "warehouse":
            return _warehouse_command(settings, args)
        if args.command == "backup":
            from critmin.operations.backup import backup as take_backup

            print(f"backup: {take_backup(settings, args.destination)}")
            return 0
        if args.command == "rebuild":
            from critmin.operations.rebuild import rebuild as rebuild_home

            rebuilt = rebuild_home(settings, args.into)
            print(f"compare, then point CRITMIN_HOME at {rebuilt.paths.home}")
            return 0
        if args.command == "brief":
            from critmin.steps.customs_monthly import brief as write_brief

            for written in write_brief(settings, Month.parse(args.month), args.as_of):
                print(written)
            return 0
        if args.command == "docs":
            from critmin.docs import build_dbt_docs, docs_index

            print(f"dbt docs site: {build_dbt_docs(settings)}")
            print(f"all documentation: {docs_index(settings.paths)}")
            return 0
        if args.command == "analysis":
            return _analysis(settings, args.name, args.var, args.sql)
    except (CritminError, ValueError) as error:
        print(f"critmin {args.command}: {error}", file=sys.stderr)
        return 1
    print(month_table(settings, args.month))
    return 0


class _Console(io.TextIOBase):
    """Standard output that its reader may stop reading (``critmin run-month ... | head -1``):
    from then on the output is dropped and the command carries on, its exit status the run's. (A
    ``BrokenPipeError`` would otherwise stop a run between months, or report a published month as
    a failure.)"""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.reader_gone = False

    def _gone(self) -> None:
        self.reader_gone = True
        # Python's advice for SIGPIPE: point the descriptor at /dev/null, so nothing written later
        # (a C library, the flush at exit) fails either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self.stream.fileno())
        os.close(devnull)

    def write(self, text: str) -> int:
        if not self.reader_gone:
            try:
                self.stream.write(text)
            except BrokenPipeError:
                self._gone()
        return len(text)

    def flush(self) -> None:
        if not self.reader_gone:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._gone()

    def fileno(self) -> int:
        return self.stream.fileno()

    def isatty(self) -> bool:
        return self.stream.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.stream.encoding


if __name__ == "__main__":
    raise SystemExit(main())
