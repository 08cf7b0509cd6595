"""Reading a month's brief from ``serving.duckdb``: every figure as known on the brief's day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from critmin.brief.model import (
    EVENT_WINDOW_MONTHS,
    US_PARTNER_CODE,
    WORLD_PARTNER_CODE,
    Brief,
    BriefError,
    ExportRow,
    HeadlineFigure,
    PolicyEvent,
    Release,
    Revision,
    as_decimal,
)
from critmin.brief.prose import compose_paragraphs
from critmin.months import Month

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    import duckdb

# --- reading serving.duckdb ----------------------------------------------------------------------


def connect_serving(serving_db: Path) -> duckdb.DuckDBPyConnection:
    """A safe read-only connection to ``serving.duckdb`` (``critmin.serving.open_serving``:
    read-only, external access off)."""
    from critmin.serving import open_serving

    if not serving_db.is_file():
        raise BriefError(f"{serving_db} does not exist: publish a month first (make run-month MONTH=YYYY-MM)")
    return open_serving(serving_db)


def _export_row(record: Sequence[Any]) -> ExportRow:
    code, iso3, name, tonnes, mom, yoy, share = record
    quantity = Decimal(str(tonnes))  # not null (the mart's contract)
    return ExportRow(code, iso3, name, quantity, as_decimal(mom), as_decimal(yoy), as_decimal(share))


def _policy_event(record: Sequence[Any]) -> PolicyEvent:
    event_on, authority, reference, event_type, summary, until = record
    return PolicyEvent(event_on, authority or "", reference or "", event_type or "", summary or "", until)


#: The figures as known on the brief's day, from the vintages (``marts.fct_trade_vintages``).
_KNOWN = """
create or replace temp table known as
select * from marts.fct_trade_vintages
where measure = 'quantity_t' and realtime_start <= ? and ? < realtime_end
"""
#: A month's magnet exports by destination as known, with the changes computed as
#: ``marts.fct_magnet_exports_monthly`` computes them.
_MAGNETS = """
with magnets as (
    select * from known where hs8_code in (select hs8_code from marts.dim_hs_code where is_rare_earth_magnet)
)
select
    current.partner_code,
    partners.partner_iso3,
    current.partner_name,
    current.figure,
    cast(round(100 * (current.figure / nullif(previous_month.figure, 0) - 1), 2) as double),
    cast(round(100 * (current.figure / nullif(previous_year.figure, 0) - 1), 2) as double),
    cast(round(100 * current.figure / nullif(world.figure, 0), 2) as double)
from magnets as current
left join marts.dim_partner as partners on current.partner_code = partners.partner_code
left join magnets as previous_month
    on current.hs8_code = previous_month.hs8_code and current.partner_code = previous_month.partner_code
    and previous_month.period_start = cast(current.period_start - interval 1 month as date)
left join magnets as previous_year
    on current.hs8_code = previous_year.hs8_code and current.partner_code = previous_year.partner_code
    and previous_year.period_start = cast(current.period_start - interval 12 month as date)
left join magnets as world
    on current.hs8_code = world.hs8_code and world.partner_code = ?
    and world.period_start = current.period_start
where current.period_start = ? and current.hs8_code = ?
order by current.partner_code = ? desc, current.figure desc, current.partner_code
"""
#: A month's headline figures as known (a single month, else January-February as one period),
#: with the changes computed as ``marts.fct_commodity_trade`` computes them.
_HEADLINE = """
with headline as (select * from known where hs8_code is null)
select
    current.series_id, current.commodity, current.flow, current.period_kind, current.figure,
    case when current.period_kind = 'month' then
        cast(round(100 * (current.figure / nullif(previous_month.figure, 0) - 1), 2) as double) end,
    case when current.period_kind = 'month' then
        cast(round(100 * (current.figure / nullif(previous_year.figure, 0) - 1), 2) as double) end,
    current.release_kind
from headline as current
left join headline as previous_month
    on previous_month.series_id = current.series_id and previous_month.period_kind = 'month'
    and previous_month.period_start = cast(current.period_start - interval 1 month as date)
left join headline as previous_year
    on previous_year.series_id = current.series_id and previous_year.period_kind = 'month'
    and previous_year.period_start = cast(current.period_start - interval 12 month as date)
where current.period_end = ? and current.period_kind in ('month', 'jan_feb')
order by current.series_id, current.period_kind = 'month' desc
"""
#: What a month's own figures are (its headline figures and magnet exports): the brief's day is
#: the latest release of one of them.
_MONTH_FIGURES = """
select * from marts.fct_trade_vintages
where measure = 'quantity_t' and period_end = ? and period_kind in ('month', 'jan_feb')
and (hs8_code is null or hs8_code in (select hs8_code from marts.dim_hs_code where is_rare_earth_magnet))
"""


def _has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    found = con.execute(
        "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?", [schema, name]
    ).fetchone()
    return bool(found and found[0])


def brief_day(con: duckdb.DuckDBPyConnection, month: Month, as_of: date | None = None) -> date | None:
    """The day a month's brief is written as of: the day of the latest release of the month's own
    figures (by ``as_of``, when given); None when none was published (by then)."""
    found = con.execute(
        f"select max(realtime_start) from ({_MONTH_FIGURES}) where realtime_start <= ?",
        [month.first_day, as_of or date.max],
    ).fetchone()
    return found[0] if found else None


def _releases(con: duckdb.DuckDBPyConnection, month: Month, day: date) -> list[Release]:
    """The latest release each flow's figures of the month (as known) come from, and when they
    were first published if that release revised them."""
    records = con.execute(
        """
        with figures as (
            select * from marts.fct_trade_vintages
            where measure = 'quantity_t' and period_end = ? and period_kind in ('month', 'jan_feb')
            and realtime_start <= ?
            and (hs8_code is null
                or hs8_code in (select hs8_code from marts.dim_hs_code where is_rare_earth_magnet))
        )
        select hs8_code is null, flow, max(realtime_start), arg_max(release_kind, realtime_start),
            arg_max(release_date_basis, realtime_start),
            case when max(vintage_number) filter (where realtime_end > ?) > 1 then min(realtime_start) end
        from figures
        group by all
        order by 1 desc, 2
        """,
        [month.first_day, day, day],
    ).fetchall()
    return [Release("headline" if headline else "magnets", *rest) for headline, *rest in records]


def _revisions(con: duckdb.DuckDBPyConnection, month: Month, day: date) -> list[Revision]:
    """The revisions published since the previous month's figures' latest release, up to ``day``,
    of figures of earlier periods (what the previous brief could not report)."""
    previous = con.execute(
        f"select max(realtime_start) from ({_MONTH_FIGURES.replace('period_end = ?', 'period_end < ?')}) "
        "where realtime_start <= ?",
        [month.first_day, day],
    ).fetchone()
    since = previous[0] if previous and previous[0] else None
    if since is None:
        return []
    records = con.execute(
        """
        select series_id, commodity, flow, partner_name, period_kind, period_start, period_end,
            previous_figure, figure, realtime_start, release_kind, release_date_basis
        from marts.fct_trade_vintages
        where measure = 'quantity_t' and change_kind = 'revised'
        and realtime_start > ? and realtime_start <= ? and period_end < ?
        order by hs8_code is null desc, series_id, partner_name nulls first, period_end, period_kind
        """,
        [since, day, month.first_day],
    ).fetchall()
    return [Revision(*record) for record in records]


def _headline(con: duckdb.DuckDBPyConnection, month: Month) -> tuple[list[HeadlineFigure], list[tuple]]:
    """The month's headline figures as known (a single month, else January-February printed as one
    period), and every single month of every series for the chart."""
    figures: dict[str, HeadlineFigure] = {}
    for series_id, commodity, flow, kind, tonnes, mom, yoy, release in con.execute(
        _HEADLINE, [month.first_day]
    ).fetchall():
        figures.setdefault(
            series_id,
            HeadlineFigure(
                series_id,
                commodity,
                flow,
                kind,
                Decimal(str(tonnes)),
                as_decimal(mom),
                as_decimal(yoy),
                release,
            ),
        )
    series = con.execute(
        "select series_id, period_start, figure from known "
        "where hs8_code is null and period_kind = 'month' order by period_start"
    ).fetchall()
    return list(figures.values()), series


def _months_published(con: duckdb.DuckDBPyConnection) -> str:
    months = [
        m
        for (m,) in con.execute(
            "select distinct strftime(period_end, '%Y-%m') "
            f"from ({_MONTH_FIGURES.replace('period_end = ?', 'true')}) order by 1"
        ).fetchall()
    ]
    return ", ".join(months) if months else "none"


def read_brief(serving_db: Path, month: str | Month, as_of: date | None = None) -> Brief:
    """Read the month's figures, its comparison months, the chart's series and the events from
    ``serving.duckdb`` as they were known on the brief's day, and compose the sentences.

    The brief's day is the day of the latest release of the month's own figures (its magnet
    exports and headline figures), or the latest by ``as_of``: every figure is the one that stood
    that day (``marts.fct_trade_vintages``), so a brief re-read later, after GACC revised, says what
    it said then. Raises ``BriefError`` when the month has neither magnet exports nor headline
    figures (by ``as_of``)."""
    month = Month.parse(month)
    with connect_serving(serving_db) as con:
        if not _has_table(con, "marts.fct_trade_vintages"):
            raise BriefError(
                f"{serving_db} has no marts.fct_trade_vintages: publish a month with this version first"
            )
        day = brief_day(con, month, as_of)
        if day is None:
            by = f" by {as_of}" if as_of else ""
            raise BriefError(
                f"{month} is not in {serving_db}{by}: marts.fct_trade_vintages has no figure of it "
                f"(months published: {_months_published(con)}). Land and run the month first "
                f"(make run-month MONTH={month}, make run-tables MONTH={month}), or pick a published month."
            )
        con.execute(_KNOWN, [day, day])
        headline, headline_series = _headline(con, month)
        hs_codes = [
            code
            for (code,) in con.execute(
                "select distinct hs8_code from known where period_start = ? and hs8_code in "
                "(select hs8_code from marts.dim_hs_code where is_rare_earth_magnet) order by 1",
                [month.first_day],
            ).fetchall()
        ]
        if len(hs_codes) > 1:
            raise BriefError(
                f"{month} has several tariff codes ({', '.join(hs_codes)}): the brief covers one"
            )
        hs8_code = hs_codes[0] if hs_codes else None
        rows = [
            _export_row(record)
            for record in con.execute(
                _MAGNETS, [WORLD_PARTNER_CODE, month.first_day, hs8_code, WORLD_PARTNER_CODE]
            ).fetchall()
        ]
        comparisons = {
            (code, Month.of(m))
            for code, m in con.execute(
                "select partner_code, period_start from known "
                "where hs8_code = ? and period_start in (?, ?) and partner_code in (?, ?)",
                [
                    hs8_code,
                    month.shifted(-1).first_day,
                    month.shifted(-12).first_day,
                    WORLD_PARTNER_CODE,
                    US_PARTNER_CODE,
                ],
            ).fetchall()
        }
        series = con.execute(
            "select period_start, partner_code, figure from known "
            "where partner_code in (?, ?) and hs8_code = coalesce(?, (select min(hs8_code) from known "
            "where hs8_code in (select hs8_code from marts.dim_hs_code where is_rare_earth_magnet))) "
            "order by period_start",
            [WORLD_PARTNER_CODE, US_PARTNER_CODE, hs8_code],
        ).fetchall()
        releases = _releases(con, month, day)
        revisions = _revisions(con, month, day)
        events = [
            _policy_event(record)
            for record in con.execute(
                "select event_on, authority, reference, event_type, summary, in_force_until "
                "from marts.dim_policy_event order by event_on, event_id"
            ).fetchall()
        ]

    by_partner = {row.partner_code: row for row in rows}
    start, end = month.shifted(-EVENT_WINDOW_MONTHS), month.shifted(EVENT_WINDOW_MONTHS)
    near = tuple(e for e in events if start <= Month.of(e.event_on) <= end)
    in_force = tuple(
        e
        for e in events
        if Month.of(e.event_on) < start and (e.in_force_until is None or e.in_force_until >= month.first_day)
    )
    world_t: dict[Month, float] = {}
    us_t: dict[Month, float] = {}
    for m, code, tonnes in series:
        (world_t if code == WORLD_PARTNER_CODE else us_t)[Month.of(m)] = float(tonnes)
    headline_t: dict[str, dict[Month, float]] = {}
    for series_id, m, tonnes in headline_series:
        headline_t.setdefault(series_id, {})[Month.of(m)] = float(tonnes)
    charted = [month, *world_t, *(m for values in headline_t.values() for m in values)]
    return Brief(
        month=month,
        hs8_code=hs8_code,
        paragraphs=compose_paragraphs(
            month,
            hs8_code,
            by_partner.get(WORLD_PARTNER_CODE),
            by_partner.get(US_PARTNER_CODE),
            comparisons,
            near,
            headline,
            releases,
            revisions,
        ),
        destinations=tuple(rows),
        events_near=near,
        events_in_force=in_force,
        first_month=min(charted),
        last_month=max(charted),
        world_t=world_t,
        us_t=us_t,
        all_events=tuple(events),
        headline=tuple(headline),
        headline_t=headline_t,
        as_of=day,
        releases=tuple(releases),
        revisions=tuple(revisions),
    )
