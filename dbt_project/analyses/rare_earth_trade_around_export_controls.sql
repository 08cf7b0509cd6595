-- China's headline rare-earth exports and imports in the months around each export-control event.
--
-- Answers: how much rare earth (稀土, GACC's headline series) did China export and import in the
-- months before and after each export-control event, its suspensions and truces
-- (marts.dim_policy_event), and how did that compare with the same month a year before? One row
-- per event and month, from window_months before the event's month to window_months after it
-- (months_from_event = 0 is the month of the event), with the magnets to the world beside it.
-- A month GACC printed only as part of January-February, or not at all, stays in the output with
-- NULL tonnes: it is missing, never split, filled or estimated.
--
-- Parameter: window_months, how many months either side of the event (default 3).
--
-- Run against the published serving.duckdb (read-only):
--   critmin analysis rare_earth_trade_around_export_controls
--   critmin analysis rare_earth_trade_around_export_controls --var window_months=6
-- or print the SQL, compiled for serving.duckdb, for a BI tool or the DuckDB CLI:
--   critmin analysis rare_earth_trade_around_export_controls --sql
{% set window_months = var('window_months', 3) | int %}

with

events as (

    select * from {{ ref('dim_policy_event') }}

),

trade as (

    select * from {{ ref('fct_commodity_trade') }}
    where period_kind = 'month' and commodity = 'rare earths'

),

timeline as (

    select * from {{ ref('mart_supply_timeline') }}

),

window_offsets as (

    select unnest(generate_series(-{{ window_months }}, {{ window_months }})) as months_from_event

),

event_months as (

    select
        events.event_id,
        events.event_on,
        events.reference,
        events.event_type,
        window_offsets.months_from_event,
        cast(
            date_trunc('month', events.event_on) + window_offsets.months_from_event * interval 1 month as date
        ) as month

    from events
    cross join window_offsets

)

select
    event_months.event_on,
    event_months.event_id,
    event_months.reference,
    event_months.event_type,
    event_months.month,
    event_months.months_from_event,
    exports.quantity_t as rare_earths_export_t,
    exports.yoy_pct as rare_earths_export_yoy_pct,
    imports.quantity_t as rare_earths_import_t,
    imports.yoy_pct as rare_earths_import_yoy_pct,
    timeline.exports_world_t as magnet_exports_world_t

from event_months
left join trade as exports
    on event_months.month = exports.period_start
    and exports.flow = 'export'
left join trade as imports
    on event_months.month = imports.period_start
    and imports.flow = 'import'
left join timeline
    on event_months.month = timeline.month

order by event_months.event_on, event_months.event_id, event_months.months_from_event
