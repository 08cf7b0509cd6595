{#- GACC's headline series as first published: one row per series and period, the quantity (and
    values) of the figure's first vintage, the day and the release that first printed it, and
    what the figures read that day: the changes on the month and on the year against the months
    as known on that day, and for a year to date the gap in GACC's own chain (this year to date
    less the previous year to date plus the month, each as known that day). fct_commodity_trade
    has the figures as they stand today. -#}
with

vintages as (

    select * from {{ ref('int_commodity_figure_vintages') }}

),

series as (

    select * from {{ ref('gacc_table_series') }}

),

quantities as (

    select * from vintages
    where measure = 'quantity_t'

),

first_quantities as (

    select * from quantities
    where vintage_number = 1

),

-- a measure's figure as known on the day the quantity was first published
values_then as (

    select
        first_quantities.series_id,
        first_quantities.period_kind,
        first_quantities.period_start,
        first_quantities.period_end,
        max(vintages.figure) filter (where vintages.measure = 'value_cny') as value_cny,
        max(vintages.figure) filter (where vintages.measure = 'value_usd') as value_usd

    from first_quantities
    inner join vintages
        on
        first_quantities.series_id = vintages.series_id
        and first_quantities.period_kind = vintages.period_kind
        and first_quantities.period_start = vintages.period_start
        and first_quantities.period_end = vintages.period_end
        and vintages.measure <> 'quantity_t'
        and first_quantities.realtime_start >= vintages.realtime_start
        and first_quantities.realtime_start < vintages.realtime_end
    group by all

),

compared as (

    select
        first_quantities.*,
        (
            select count(*) from quantities as later
            where
                later.series_id = first_quantities.series_id
                and later.period_kind = first_quantities.period_kind
                and later.period_start = first_quantities.period_start
                and later.period_end = first_quantities.period_end
        ) as vintages,
        previous_month.figure as previous_month_t,
        previous_year.figure as previous_year_t,
        month_beside.figure as month_t,
        previous_ytd.figure as previous_ytd_t

    from first_quantities
    left join quantities as previous_month
        on
        first_quantities.period_kind = 'month'
        and previous_month.period_kind = 'month'
        and first_quantities.series_id = previous_month.series_id
        and previous_month.period_start = cast(first_quantities.period_start - interval 1 month as date)
        and first_quantities.realtime_start >= previous_month.realtime_start
        and first_quantities.realtime_start < previous_month.realtime_end
    left join quantities as previous_year
        on
        first_quantities.period_kind = 'month'
        and previous_year.period_kind = 'month'
        and first_quantities.series_id = previous_year.series_id
        and previous_year.period_start = cast(first_quantities.period_start - interval 12 month as date)
        and first_quantities.realtime_start >= previous_year.realtime_start
        and first_quantities.realtime_start < previous_year.realtime_end
    -- a year to date's chain: the month and the previous year to date (at February: January,
    -- at March: January-February), as known that day
    left join quantities as month_beside
        on
        first_quantities.period_kind in ('ytd', 'jan_feb')
        and month_beside.period_kind = 'month'
        and first_quantities.series_id = month_beside.series_id
        and first_quantities.period_end = month_beside.period_start
        and first_quantities.realtime_start >= month_beside.realtime_start
        and first_quantities.realtime_start < month_beside.realtime_end
    left join quantities as previous_ytd
        on
        first_quantities.period_kind in ('ytd', 'jan_feb')
        and first_quantities.series_id = previous_ytd.series_id
        and first_quantities.period_start = previous_ytd.period_start
        and previous_ytd.period_end = cast(first_quantities.period_end - interval 1 month as date)
        and previous_ytd.period_kind = case
            when month(first_quantities.period_end) = 2 then 'month'
            when month(first_quantities.period_end) = 3 then 'jan_feb'
            else 'ytd'
        end
        and first_quantities.realtime_start >= previous_ytd.realtime_start
        and first_quantities.realtime_start < previous_ytd.realtime_end

)

select
    compared.series_id,
    series.commodity,
    compared.flow,
    compared.period_kind,
    compared.period_start,
    compared.period_end,
    cast(compared.figure as decimal(18, 3)) as quantity_t,
    cast(values_then.value_cny as decimal(24, 2)) as value_cny,
    cast(values_then.value_usd as decimal(24, 2)) as value_usd,
    -- computed as fct_commodity_trade computes them, from the figures known that day
    cast(round(100 * (compared.figure / nullif(compared.previous_month_t, 0) - 1), 2) as double) as mom_pct,
    cast(round(100 * (compared.figure / nullif(compared.previous_year_t, 0) - 1), 2) as double) as yoy_pct,
    cast(compared.figure - (compared.previous_ytd_t + compared.month_t) as decimal(18, 3)) as ytd_chain_gap_t,
    compared.realtime_start as first_released_on,
    compared.release_kind,
    compared.release_month,
    compared.release_date_basis,
    compared.release_date_basis <> 'publisher' as is_release_date_supplied,
    cast(compared.vintages as integer) as vintages,
    compared.source_file_sha256

from compared
inner join series on compared.series_id = series.series_id
left join values_then
    on
    compared.series_id = values_then.series_id
    and compared.period_kind = values_then.period_kind
    and compared.period_start = values_then.period_start
    and compared.period_end = values_then.period_end
