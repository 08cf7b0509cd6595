{#- One row per calendar month from the first to the last month with any exports figure,
    agreement or event: a missing exports figure stays NULL. The headline rare-earth exports and
    imports are the months GACC printed alone: a January-February printed as one period leaves
    both months NULL (never split). -#}
with

exports as (

    select
        month,
        partner_iso3,
        -- over the magnet tariff codes; one unknown quantity makes the month's total unknown.
        -- The sum keeps quantity_t's type (DuckDB's sum would widen it to decimal(38, 6)).
        case when count(*) = count(quantity_t) then cast(sum(quantity_t) as decimal(18, 6)) end as quantity_t

    from {{ ref('fct_magnet_exports_monthly') }}
    where hs8_code in ({{ magnet_hs8_codes_sql() }})
    group by 1, 2

),

headline as (

    select
        period_start as month,
        series_id,
        quantity_t

    from {{ ref('fct_commodity_trade') }}
    where period_kind = 'month'

),

agreements as (

    select * from {{ ref('fct_mineral_agreements') }}

),

events as (

    select * from {{ ref('dim_policy_event') }}

),

bounds as (

    select
        min(month) as first_month,
        max(month) as last_month
    from (
        select month from exports
        union all
        select month from headline
        union all
        select cast(date_trunc('month', announced_on) as date) from agreements
        union all
        select cast(date_trunc('month', event_on) as date) from events
    ) as dated

),

months as (

    -- DuckDB's generate_series; other engines: a date spine
    select cast(unnest(generate_series(first_month, last_month, interval 1 month)) as date) as month
    from bounds

),

agreements_by_month as (

    select
        cast(date_trunc('month', announced_on) as date) as month,
        count(*) as agreements_announced,
        -- the headline amounts' type (DuckDB's sum would widen it to decimal(38, 2))
        cast(sum(headline_amount_usd) as decimal(20, 2)) as agreements_stated_usd,
        count(*) filter (where headline_amount_usd is null) as agreements_without_stated_amount

    from agreements
    group by 1

),

events_by_month as (

    select
        cast(date_trunc('month', event_on) as date) as month,
        count(*) as export_control_events,
        string_agg(reference || ' (' || event_type || ')', '; ' order by event_on)
            as export_control_event_refs

    from events
    group by 1

)

select
    months.month,
    world.quantity_t as exports_world_t,
    us.quantity_t as exports_us_t,
    rare_earths_export.quantity_t as rare_earths_export_t,
    rare_earths_import.quantity_t as rare_earths_import_t,
    coalesce(agreements_by_month.agreements_announced, 0) as agreements_announced,
    agreements_by_month.agreements_stated_usd,
    coalesce(agreements_by_month.agreements_without_stated_amount, 0) as agreements_without_stated_amount,
    coalesce(events_by_month.export_control_events, 0) as export_control_events,
    events_by_month.export_control_event_refs

from months
left join exports as world
    on months.month = world.month and world.partner_iso3 = 'WLD'
left join exports as us
    on months.month = us.month and us.partner_iso3 = 'USA'
left join headline as rare_earths_export
    on months.month = rare_earths_export.month and rare_earths_export.series_id = 'rare_earths_export'
left join headline as rare_earths_import
    on months.month = rare_earths_import.month and rare_earths_import.series_id = 'rare_earths_import'
left join agreements_by_month on months.month = agreements_by_month.month
left join events_by_month on months.month = events_by_month.month
