-- Magnet exports in the months around each of China's export-control events.
--
-- Answers: what did China export to the world and to the United States in the months before and
-- after each export-control event, its suspensions and truces (marts.dim_policy_event)? One row
-- per event and month, from window_months before the event's month to window_months after it
-- (months_from_event = 0 is the month of the event). A month whose figure was not published
-- stays in the output with NULL tonnes: it is missing, never filled or estimated.
--
-- Parameter: window_months, how many months either side of the event (default 3).
--
-- Run against the published serving.duckdb (read-only):
--   critmin analysis exports_around_export_controls
--   critmin analysis exports_around_export_controls --var window_months=6
-- or print the SQL, compiled for serving.duckdb, for a BI tool or the DuckDB CLI:
--   critmin analysis exports_around_export_controls --sql
{% set window_months = var('window_months', 3) | int %}

with

events as (

    select * from {{ ref('dim_policy_event') }}

),

exports as (

    select
        month,
        partner_iso3,
        -- over the magnet tariff codes; one unknown quantity makes the month's total unknown
        case when count(*) = count(quantity_t) then sum(quantity_t) end as quantity_t

    from {{ ref('fct_magnet_exports_monthly') }}
    group by month, partner_iso3

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
    world.quantity_t as exports_world_t,
    us.quantity_t as exports_us_t,
    world.quantity_t is not null as is_world_published

from event_months
left join exports as world
    on event_months.month = world.month
    and world.partner_iso3 = 'WLD'
left join exports as us
    on event_months.month = us.month
    and us.partner_iso3 = 'USA'

order by event_months.event_on, event_months.event_id, event_months.months_from_event
