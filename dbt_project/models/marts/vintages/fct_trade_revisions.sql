{#- Every figure GACC has revised since it first published it: one row per figure (a series, a
    partner where it has one, a period, a measure) whose vintages include a revision, with the
    figure as first published and as it stands, both release days, the change, and when it last
    changed. A later printing that only adds digits to the same figure (change_kind
    'more_precise') is no revision. -#}
with

vintages as (

    select * from {{ ref('fct_trade_vintages') }}

),

revised_figures as (

    select
        series_id,
        partner_code,
        period_kind,
        period_start,
        period_end,
        measure,
        count(*) filter (where change_kind = 'revised') as revisions

    from vintages
    group by all
    having count(*) filter (where change_kind = 'revised') > 0

),

summarized as (

    select
        vintages.series_id,
        any_value(vintages.commodity) as commodity,
        any_value(vintages.flow) as flow,
        any_value(vintages.hs8_code) as hs8_code,
        vintages.partner_code,
        any_value(vintages.partner_name) as partner_name,
        vintages.period_kind,
        vintages.period_start,
        vintages.period_end,
        vintages.measure,
        any_value(vintages.unit) as unit,
        arg_min(vintages.figure, vintages.realtime_start) as first_figure,
        min(vintages.realtime_start) as first_released_on,
        arg_min(vintages.release_kind, vintages.realtime_start) as first_release_kind,
        arg_min(vintages.is_release_date_supplied, vintages.realtime_start) as is_first_release_date_supplied,
        arg_max(vintages.figure, vintages.realtime_start) as latest_figure,
        max(vintages.realtime_start) as latest_released_on,
        arg_max(vintages.release_kind, vintages.realtime_start) as latest_release_kind,
        arg_max(vintages.is_release_date_supplied, vintages.realtime_start)
            as is_latest_release_date_supplied,
        max(vintages.realtime_start) filter (where vintages.change_kind = 'revised') as last_revised_on,
        max(vintages.realtime_end) = date '{{ var("open_realtime_end") }}' as is_still_published,
        any_value(revised_figures.revisions) as revisions

    from vintages
    inner join revised_figures
        on
        vintages.series_id = revised_figures.series_id
        and vintages.partner_code is not distinct from revised_figures.partner_code
        and vintages.period_kind = revised_figures.period_kind
        and vintages.period_start = revised_figures.period_start
        and vintages.period_end = revised_figures.period_end
        and vintages.measure = revised_figures.measure
    group by
        vintages.series_id,
        vintages.partner_code,
        vintages.period_kind,
        vintages.period_start,
        vintages.period_end,
        vintages.measure

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
    unit,
    first_figure,
    first_released_on,
    first_release_kind,
    is_first_release_date_supplied,
    latest_figure,
    latest_released_on,
    latest_release_kind,
    is_latest_release_date_supplied,
    cast(latest_figure - first_figure as decimal(24, 6)) as change,  -- noqa: RF04
    cast(round(100 * (latest_figure / nullif(first_figure, 0) - 1), 4) as double) as change_pct,
    cast(revisions as integer) as revisions,
    last_revised_on,
    is_still_published

from summarized
