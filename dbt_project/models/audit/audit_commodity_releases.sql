{#- The mart gate of a release month of commodity tables (expectations/gacc_table_release.json):
    each figure a release printed, set against what the earlier releases had printed. Written
    apart from the marts' SQL on purpose. One row per printing:

    - chain: for a year to date, the month printed beside it plus the previous year to date (at
      February: January), as it stood before this release, against the year to date. The gap in
      tonnes, what exceeds the tolerance (0.5 t or the coarsest printed digit, whichever is
      larger), and the gap as a share of the year to date;
    - month y/y (tables 13/14): the printed single-month y/y % against last year's month as it
      stood before this release; what exceeds the tolerance (one unit of the printed %'s last digit,
      as GACC may truncate, plus what the figures' rounding allows). Values for table 13 only (table 14's never agree);
    - restatement: the figure that stood before, when this printing differs from it beyond the
      coarser one's rounding (GACC's revision), and by how much more than
      var('revision_warning_share') of it the revision moved it.
    Only the tables' current versions are set against each other (the earlier releases they
    superseded are in the vintages). -#}
with

ranked as (

    select * from {{ ref('int_commodity_figures_ranked') }}
    where is_current

),

standings as (

    select * from ranked
    where not is_quantity_repeat

),

checked as (

    select
        ranked.*,
        month_beside.quantity_t as month_t,
        month_beside.quantity_step_t as month_step_t,
        (
            select { 't': earlier.quantity_t, 'step': earlier.quantity_step_t }
            from standings as earlier
            where
                earlier.series_id = ranked.series_id
                and earlier.printing_order < ranked.printing_order
                and earlier.period_start = ranked.period_start
                and earlier.period_end = cast(ranked.period_end - interval 1 month as date)
                and earlier.period_kind = case
                    when month(ranked.period_end) = 2 then 'month'
                    when month(ranked.period_end) = 3 then 'jan_feb'
                    else 'ytd'
                end
            order by earlier.printing_order desc
            limit 1
        ) as previous_ytd,
        (
            select { 't': earlier.quantity_t, 'step': earlier.quantity_step_t }
            from standings as earlier
            where
                earlier.series_id = ranked.series_id
                and earlier.printing_order < ranked.printing_order
                and earlier.period_kind = 'month'
                and earlier.period_start = cast(ranked.period_start - interval 12 month as date)
            order by earlier.printing_order desc
            limit 1
        ) as last_year,
        (
            select { 'value': earlier.value, 'step': earlier.value_step }
            from standings as earlier
            where
                earlier.series_id = ranked.series_id
                and earlier.printing_order < ranked.printing_order
                and earlier.period_kind = 'month'
                and earlier.period_start = cast(ranked.period_start - interval 12 month as date)
                and earlier.value_currency = ranked.value_currency
                and earlier.value is not null
                and not earlier.is_value_repeat
            order by earlier.printing_order desc
            limit 1
        ) as last_year_value,
        (
            select { 't': earlier.quantity_t, 'step': earlier.quantity_step_t }
            from standings as earlier
            where
                earlier.series_id = ranked.series_id
                and earlier.printing_order < ranked.printing_order
                and earlier.period_kind = ranked.period_kind
                and earlier.period_start = ranked.period_start
                and earlier.period_end = ranked.period_end
            order by earlier.printing_order desc
            limit 1
        ) as stood_before

    from ranked
    left join ranked as month_beside
        on
        ranked.printed_as = 'current'
        and ranked.period_kind in ('ytd', 'jan_feb')
        and ranked.source_file_sha256 = month_beside.source_file_sha256
        and ranked.series_id = month_beside.series_id
        and month_beside.period_kind = 'month'
        and ranked.period_end = month_beside.period_start

),

flattened as (

    select
        checked.* exclude (
            checked.previous_ytd, checked.last_year, checked.last_year_value, checked.stood_before
        ),
        previous_ytd.t as previous_ytd_t,
        previous_ytd.step as previous_ytd_step_t,
        case when checked.period_kind = 'month' then last_year.t end as last_year_t,
        last_year.step as last_year_step_t,
        case when checked.period_kind = 'month' then last_year_value.value end as last_year_value,
        last_year_value.step as last_year_value_step,
        stood_before.t as before_t,
        stood_before.step as before_step_t

    from checked

),

measured as (

    select
        *,
        month_t + previous_ytd_t - quantity_t as chain_gap_t,
        greatest(0.5, quantity_step_t, month_step_t, previous_ytd_step_t) as chain_tolerance_t,
        case when yoy_quantity_pct = round(yoy_quantity_pct) then 1 else 0.1 end as yoy_step

    from flattened

)

select
    release_month,
    release_kind,
    source_file_sha256,
    source_line,
    series_id,
    flow,
    printed_as,
    period_kind,
    period_start,
    period_end,
    quantity_t,
    month_t,
    previous_ytd_t,
    chain_gap_t,
    cast(abs(chain_gap_t) - chain_tolerance_t as double) as chain_excess_t,
    cast(abs(chain_gap_t) / nullif(quantity_t, 0) as double) as chain_gap_share,
    cast(yoy_quantity_pct as double) as month_yoy_quantity_pct,
    case
        when release_kind = 'monthly_table' and period_kind = 'month' and last_year_t > 0
            then cast(
                abs(yoy_quantity_pct - 100 * (quantity_t / last_year_t - 1))
                - yoy_step
                - 100
                * (
                    quantity_step_t / 2 / last_year_t
                    + quantity_t * last_year_step_t / 2 / (last_year_t * last_year_t)
                )
                as double
            )
    end as month_yoy_quantity_excess,
    case
        when
            release_kind = 'monthly_table' and period_kind = 'month' and flow = 'export'
            and last_year_value > 0 and yoy_value_pct is not null
            then cast(
                abs(yoy_value_pct - 100 * (value / last_year_value - 1))
                - case when yoy_value_pct = round(yoy_value_pct) then 1 else 0.1 end
                - 100
                * (
                    value_step / 2 / last_year_value
                    + value * last_year_value_step / 2 / (last_year_value * last_year_value)
                )
                as double
            )
    end as month_yoy_value_excess,
    case
        when
            not is_quantity_repeat
            and abs(quantity_t - before_t) > greatest(quantity_step_t, before_step_t) / 2
            then before_t
    end as restated_from_t,
    -- a revision's size as a share of the figure it revised, beyond var('revision_warning_share')
    case
        when
            not is_quantity_repeat
            and abs(quantity_t - before_t) > greatest(quantity_step_t, before_step_t) / 2
            then cast(
                abs(quantity_t - before_t) / nullif(abs(before_t), 0) - {{ var('revision_warning_share') }}
                as double
            )
    end as revision_share_excess

from measured
