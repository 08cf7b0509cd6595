"""Reading a month's brief from ``serving.duckdb``."""

from __future__ import annotations

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


def _has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    found = con.execute(
        "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?", [schema, name]
    ).fetchone()
    return bool(found and found[0])


def _headline(con: duckdb.DuckDBPyConnection, month: Month) -> tuple[list[HeadlineFigure], list[tuple]]:
    """The month's headline figures (a single month, else January-February printed as one period),
    and every single month of every series for the chart."""
    if not _has_table(con, "marts.fct_commodity_trade"):
        return [], []
    records = con.execute(
        """
        select series_id, commodity, flow, period_kind, quantity_t, mom_pct, yoy_pct, release_kind
        from marts.fct_commodity_trade
        where period_end = ? and period_kind in ('month', 'jan_feb')
        order by series_id, period_kind = 'month' desc
        """,
        [month.first_day],
    ).fetchall()
    figures: dict[str, HeadlineFigure] = {}
    for series_id, commodity, flow, kind, tonnes, mom, yoy, release in records:
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
        "select series_id, period_start, quantity_t from marts.fct_commodity_trade "
        "where period_kind = 'month' order by period_start"
    ).fetchall()
    return list(figures.values()), series


def _months_published(con: duckdb.DuckDBPyConnection) -> str:
    months = [
        m
        for (m,) in con.execute(
            "select distinct strftime(month, '%Y-%m') from marts.fct_magnet_exports_monthly order by 1"
        ).fetchall()
    ]
    return ", ".join(months) if months else "none"


def read_brief(serving_db: Path, month: str | Month) -> Brief:
    """Read the month's rows, its comparison months, the chart's series and the events from
    ``serving.duckdb``, and compose the sentences. Raises ``BriefError`` when the month has neither
    magnet exports nor headline figures."""
    month = Month.parse(month)
    with connect_serving(serving_db) as con:
        headline, headline_series = _headline(con, month)
        hs_codes = [
            code
            for (code,) in con.execute(
                "select distinct hs8_code from marts.fct_magnet_exports_monthly where month = ? order by 1",
                [month.first_day],
            ).fetchall()
        ]
        if not hs_codes and not headline:
            raise BriefError(
                f"{month} is not in {serving_db}: marts.fct_magnet_exports_monthly has no row for it "
                f"(months published: {_months_published(con)}), nor marts.fct_commodity_trade. Land "
                f"and run the month first (make run-month MONTH={month}), or pick a published month."
            )
        if len(hs_codes) > 1:
            raise BriefError(
                f"{month} has several tariff codes ({', '.join(hs_codes)}): the brief covers one"
            )
        hs8_code = hs_codes[0] if hs_codes else None
        rows = [
            _export_row(record)
            for record in con.execute(
                """
                select partner_code, partner_iso3, partner_name, quantity_t, mom_pct, yoy_pct,
                    share_of_world_pct
                from marts.fct_magnet_exports_monthly
                where month = ? and hs8_code = ?
                order by partner_code = ? desc, quantity_t desc, partner_code
                """,
                [month.first_day, hs8_code, WORLD_PARTNER_CODE],
            ).fetchall()
        ]
        comparisons = {
            (code, Month.of(m))
            for code, m in con.execute(
                "select partner_code, month from marts.fct_magnet_exports_monthly "
                "where hs8_code = ? and month in (?, ?) and partner_code in (?, ?)",
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
            "select month, partner_code, quantity_t from marts.fct_magnet_exports_monthly "
            "where partner_code in (?, ?) and hs8_code = coalesce(?, (select min(hs8_code) from "
            "marts.fct_magnet_exports_monthly)) order by month",
            [WORLD_PARTNER_CODE, US_PARTNER_CODE, hs8_code],
        ).fetchall()
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
    )
