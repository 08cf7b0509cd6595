-- World and US exports in the 3 months either side of each export-control event.
-- (adapted from dbt_project/analyses/exports_around_export_controls.sql)
with

exports as (
    select
        month,
        partner_iso3,
        case when count(*) = count(quantity_t) then sum(quantity_t) end as quantity_t
    from marts.fct_magnet_exports_monthly
    group by month, partner_iso3
),

event_months as (
    select
        events.event_id,
        events.event_on,
        events.reference,
        events.event_type,
        offsets.months_from_event,
        cast(date_trunc('month', events.event_on) + offsets.months_from_event * interval 1 month as date) as month
    from marts.dim_policy_event as events
    cross join (select unnest(generate_series(-3, 3)) as months_from_event) as offsets
)

select
    event_months.event_on,
    event_months.event_id,
    event_months.reference,
    event_months.event_type,
    event_months.month,
    event_months.months_from_event,
    world.quantity_t as exports_world_t,
    us.quantity_t as exports_us_t
from event_months
left join exports as world
    on event_months.month = world.month and world.partner_iso3 = 'WLD'
left join exports as us
    on event_months.month = us.month and us.partner_iso3 = 'USA'
order by event_months.event_on, event_months.event_id, event_months.months_from_event
