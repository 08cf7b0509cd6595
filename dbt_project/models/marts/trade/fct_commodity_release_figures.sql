{#- Every figure each landed GACC commodity table printed: one row per table, series, figure
    (its period, and whether the table printed it as this year's or as last year's restated).
    fct_commodity_trade keeps, for each period, the figure that stands. -#}
with

ranked as (

    select * from {{ ref('int_commodity_figures_ranked') }}
    where is_current

),

series as (

    select * from {{ ref('gacc_table_series') }}

)

select
    ranked.series_id,
    series.commodity,
    ranked.flow,
    ranked.release_kind,
    ranked.release_month,
    ranked.printed_as,
    ranked.period_kind,
    ranked.period_start,
    ranked.period_end,
    ranked.quantity_t,
    ranked.quantity_decimals,
    ranked.value_currency,
    ranked.value,
    cast(ranked.yoy_quantity_pct as double) as yoy_quantity_pct_printed,
    cast(ranked.yoy_value_pct as double) as yoy_value_pct_printed,
    ranked.is_quantity_repeat,
    ranked.source_file_sha256,
    ranked.source_line

from ranked
inner join series on ranked.series_id = series.series_id
