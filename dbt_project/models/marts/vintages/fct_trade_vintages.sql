{#- Every vintage of every trade figure critmin carries, as ALFRED keeps FRED's: one row per
    figure (a series, a partner where it has one, a period, a measure) and stretch of time in
    which what GACC had published for it did not change. realtime_start is the day the release
    that published it came out; realtime_end the day a later release changed or withdrew it
    (9999-12-31 while it stands). A figure as known on a day D is the row with
    realtime_start <= D < realtime_end (macro as_of).

    Two families: the customs platform's downloads (series customs_export_<hs8>, by partner, from
    int_customs_export_vintages) and GACC's commodity tables (series of seed gacc_table_series,
    from int_commodity_figure_vintages). A release that leaves a figure as it was adds no row. -#}
with

customs as (

    select * from {{ ref('int_customs_export_vintages') }}

),

tables as (

    select * from {{ ref('int_commodity_figure_vintages') }}

),

hs_codes as (

    select * from {{ ref('dim_hs_code') }}

),

partners as (

    select * from {{ ref('dim_partner') }}

),

series as (

    select * from {{ ref('gacc_table_series') }}

),

-- the customs vintages (quantity and value together) one measure at a time
customs_measures as (

    select
        month,
        hs8_code,
        partner_code,
        realtime_start,
        realtime_end,
        source_file_sha256,
        source_file_name,
        release_date_basis,
        'quantity_t' as measure,
        cast(quantity_kg / 1000 as decimal(24, 6)) as figure
    from customs

    union all

    select
        month,
        hs8_code,
        partner_code,
        realtime_start,
        realtime_end,
        source_file_sha256,
        source_file_name,
        release_date_basis,
        'value_usd' as measure,
        cast(value_usd as decimal(24, 6)) as figure
    from customs

),

-- a measure's stretches merged where only the other measure changed; an unknown figure (NULL)
-- or a withdrawn one ends a stretch
customs_islands as (

    select
        *,
        sum(case when starts_stretch then 1 else 0 end) over (
            partition by month, hs8_code, partner_code, measure order by realtime_start
        ) as stretch

    from (
        select
            *,
            coalesce(
                figure is distinct from lag(figure) over by_start
                or realtime_start <> lag(realtime_end) over by_start,
                true
            ) as starts_stretch
        from customs_measures
        window by_start as (partition by month, hs8_code, partner_code, measure order by realtime_start)
    ) as marked

),

customs_stretches as (

    select
        month,
        hs8_code,
        partner_code,
        measure,
        any_value(figure) as figure,
        min(realtime_start) as realtime_start,
        max(realtime_end) as realtime_end,
        arg_min(source_file_sha256, realtime_start) as source_file_sha256,
        arg_min(source_file_name, realtime_start) as source_file_name,
        arg_min(release_date_basis, realtime_start) as release_date_basis

    from customs_islands
    group by month, hs8_code, partner_code, measure, stretch
    having any_value(figure) is not null

),

customs_vintages as (

    select
        'customs_export_' || customs_stretches.hs8_code as series_id,
        hs_codes.description_en as commodity,
        'export' as flow,
        customs_stretches.hs8_code,
        customs_stretches.partner_code,
        partners.partner_name_en as partner_name,
        'month' as period_kind,
        customs_stretches.month as period_start,
        customs_stretches.month as period_end,
        customs_stretches.measure,
        customs_stretches.figure,
        customs_stretches.realtime_start,
        customs_stretches.realtime_end,
        lag(customs_stretches.figure) over by_start as previous_figure,
        case when lag(customs_stretches.figure) over by_start is null then 'first' else 'revised' end
            as change_kind,
        'query_platform' as release_kind,
        customs_stretches.month as release_month,
        customs_stretches.release_date_basis,
        customs_stretches.source_file_sha256,
        customs_stretches.source_file_name

    from customs_stretches
    left join hs_codes on customs_stretches.hs8_code = hs_codes.hs8_code
    left join partners on customs_stretches.partner_code = partners.partner_code
    window by_start as (
        partition by
            customs_stretches.month, customs_stretches.hs8_code, customs_stretches.partner_code,
            customs_stretches.measure
        order by customs_stretches.realtime_start
    )

),

table_vintages as (

    select
        tables.series_id,
        series.commodity,
        tables.flow,
        cast(null as varchar) as hs8_code,
        cast(null as varchar) as partner_code,
        cast(null as varchar) as partner_name,
        tables.period_kind,
        tables.period_start,
        tables.period_end,
        tables.measure,
        tables.figure,
        tables.realtime_start,
        tables.realtime_end,
        tables.previous_figure,
        tables.change_kind,
        tables.release_kind,
        tables.release_month,
        tables.release_date_basis,
        tables.source_file_sha256,
        tables.source_file_name

    from tables
    inner join series on tables.series_id = series.series_id

),

unioned as (

    select * from customs_vintages
    union all
    select * from table_vintages

)

select
    series_id,
    commodity,
    flow,
    hs8_code,
    partner_code,
    partner_name,
    period_kind,
    period_start,
    period_end,
    measure,
    case when measure = 'quantity_t' then 't' else upper(substr(measure, 7)) end as unit,
    figure,
    cast(realtime_start as date) as realtime_start,
    cast(realtime_end as date) as realtime_end,
    cast(row_number() over (
        partition by series_id, partner_code, period_kind, period_start, period_end, measure
        order by realtime_start
    ) as integer) as vintage_number,
    change_kind,
    previous_figure,
    release_kind,
    release_month,
    release_date_basis,
    release_date_basis <> 'publisher' as is_release_date_supplied,
    source_file_sha256,
    source_file_name

from unioned
