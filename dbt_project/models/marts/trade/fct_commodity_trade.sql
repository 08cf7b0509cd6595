{#- GACC's headline series (rare earths exported and imported, and any other line of the
    catalogue), one row per series and period: each month, each January-February printed as one
    period, each year to date, with the figure that stands today (the latest release's, unless a
    later table only repeats it with fewer digits: the more precise one stands).

    The month-over-month and year-over-year changes are computed only between two published single
    months: NULL across a gap, and NULL against a January-February printed as one period (never
    split). The y/y % GACC printed is kept beside them. -#}
with

ranked as (

    select * from {{ ref('int_commodity_figures_ranked') }}
    where is_current

),

series as (

    select * from {{ ref('gacc_table_series') }}

),

quantities as (

    select *
    from ranked
    where quantity_t is not null and not is_quantity_repeat
    qualify row_number() over (
        partition by series_id, period_kind, period_start, period_end order by printing_order desc
    ) = 1

),

values_by_currency as (

    select
        series_id,
        period_kind,
        period_start,
        period_end,
        value_currency,
        arg_max(value, printing_order) as latest_value
    from ranked
    where value is not null and not is_value_repeat
    group by all

),

printed_yoy as (

    select
        series_id,
        period_kind,
        period_start,
        period_end,
        arg_max(yoy_quantity_pct, printing_order) filter (where yoy_quantity_pct is not null)
            as yoy_quantity_pct_printed,
        arg_max(yoy_value_pct, printing_order) filter (where yoy_value_pct is not null)
            as yoy_value_pct_printed
    from ranked
    group by all

),

standing as (

    select
        quantities.series_id,
        quantities.flow,
        quantities.period_kind,
        quantities.period_start,
        quantities.period_end,
        quantities.quantity_t,
        quantities.quantity_decimals,
        cny.latest_value as value_cny,
        usd.latest_value as value_usd,
        printed_yoy.yoy_quantity_pct_printed,
        printed_yoy.yoy_value_pct_printed,
        quantities.release_kind,
        quantities.release_month,
        quantities.source_file_sha256

    from quantities
    left join values_by_currency as cny
        on
        quantities.series_id = cny.series_id
        and quantities.period_kind = cny.period_kind
        and quantities.period_start = cny.period_start
        and quantities.period_end = cny.period_end
        and cny.value_currency = 'CNY'
    left join values_by_currency as usd
        on
        quantities.series_id = usd.series_id
        and quantities.period_kind = usd.period_kind
        and quantities.period_start = usd.period_start
        and quantities.period_end = usd.period_end
        and usd.value_currency = 'USD'
    left join printed_yoy
        on
        quantities.series_id = printed_yoy.series_id
        and quantities.period_kind = printed_yoy.period_kind
        and quantities.period_start = printed_yoy.period_start
        and quantities.period_end = printed_yoy.period_end

),

compared as (

    select
        standing.*,
        previous_month.quantity_t as previous_month_quantity_t,
        previous_year.quantity_t as previous_year_quantity_t

    from standing
    left join standing as previous_month
        on
        standing.period_kind = 'month'
        and previous_month.period_kind = 'month'
        and standing.series_id = previous_month.series_id
        and previous_month.period_start = cast(standing.period_start - interval 1 month as date)
    left join standing as previous_year
        on
        standing.period_kind = 'month'
        and previous_year.period_kind = 'month'
        and standing.series_id = previous_year.series_id
        and previous_year.period_start = cast(standing.period_start - interval 12 month as date)

)

select
    compared.series_id,
    series.commodity,
    compared.flow,
    compared.period_kind,
    compared.period_start,
    compared.period_end,
    compared.quantity_t,
    compared.quantity_decimals,
    compared.value_cny,
    compared.value_usd,
    -- percentages are doubles rounded to 2 places, as in fct_magnet_exports_monthly
    cast(round(100 * (compared.quantity_t / nullif(compared.previous_month_quantity_t, 0) - 1), 2) as double)
        as mom_pct,
    cast(round(100 * (compared.quantity_t / nullif(compared.previous_year_quantity_t, 0) - 1), 2) as double)
        as yoy_pct,
    cast(compared.yoy_quantity_pct_printed as double) as yoy_quantity_pct_printed,
    cast(compared.yoy_value_pct_printed as double) as yoy_value_pct_printed,
    compared.release_kind,
    compared.release_month,
    compared.source_file_sha256

from compared
inner join series on compared.series_id = series.series_id
