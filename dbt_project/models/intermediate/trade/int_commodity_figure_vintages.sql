{#- Every vintage of every figure GACC's commodity tables print: one row per (series, period,
    measure) and stretch of time in which the figure that stood did not change, from
    realtime_start (the day the release that printed it came out) to realtime_end (the day a later
    release printed it differently; 9999-12-31 while it stands).

    Measures apart (GACC revises quantities and amounts separately): quantity_t, value_cny,
    value_usd. A printing that only repeats an earlier, more precise one with a coarser last digit
    (is_quantity_repeat, is_value_repeat) is the same figure and adds nothing. A printing that
    differs adds a vintage: change_kind 'revised' when it differs beyond the coarser printing's
    rounding (GACC's revision), 'more_precise' when it only prints more digits of the same figure.
    A release that prints a figure as it stood adds nothing: a figure restated identically in
    twelve releases is one row. Two printings on the same day are one: the later in GACC's order
    is what was known that day. Every loaded table version counts, current or superseded. -#}
with

ranked as (

    select * from {{ ref('int_commodity_figures_ranked') }}

),

printings as (

    select
        series_id,
        flow,
        period_kind,
        period_start,
        period_end,
        'quantity_t' as measure,
        cast(quantity_t as decimal(24, 6)) as figure,
        cast(quantity_step_t as decimal(24, 8)) as figure_step,
        released_on,
        printing_order,
        release_kind,
        release_month,
        release_date_basis,
        printed_as,
        source_file_sha256,
        source_file_name,
        source_line

    from ranked
    where quantity_t is not null and not is_quantity_repeat

    union all

    select
        series_id,
        flow,
        period_kind,
        period_start,
        period_end,
        'value_' || lower(value_currency) as measure,
        cast(value as decimal(24, 6)) as figure,
        cast(value_step as decimal(24, 8)) as figure_step,
        released_on,
        printing_order,
        release_kind,
        release_month,
        release_date_basis,
        printed_as,
        source_file_sha256,
        source_file_name,
        source_line

    from ranked
    where value is not null and not is_value_repeat

),

-- what was known at the end of each release day: that day's last printing
known_by_day as (

    select *
    from printings
    qualify row_number() over (
        partition by series_id, period_kind, period_start, period_end, measure, released_on
        order by printing_order desc
    ) = 1

),

compared as (

    select
        *,
        lag(figure) over figure_history as previous_figure,
        lag(figure_step) over figure_history as previous_figure_step

    from known_by_day
    window figure_history as (
        partition by series_id, period_kind, period_start, period_end, measure order by released_on
    )

),

changes as (

    select
        *,
        case
            when previous_figure is null then 'first'
            when
                abs(figure - previous_figure) > greatest(figure_step, previous_figure_step) / 2
                then 'revised'
            else 'more_precise'
        end as change_kind

    from compared
    where previous_figure is null or figure <> previous_figure

)

select
    series_id,
    flow,
    period_kind,
    period_start,
    period_end,
    measure,
    figure,
    figure_step,
    released_on as realtime_start,
    coalesce(
        lead(released_on) over figure_history,
        date '{{ var("open_realtime_end") }}'
    ) as realtime_end,
    row_number() over figure_history as vintage_number,
    change_kind,
    previous_figure,
    release_kind,
    release_month,
    release_date_basis,
    printed_as,
    source_file_sha256,
    source_file_name,
    source_line

from changes
window figure_history as (
    partition by series_id, period_kind, period_start, period_end, measure order by released_on
)
