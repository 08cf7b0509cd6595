{#- Every figure the landed commodity tables print, one row per printing (a table, a series, a
    period), with the release's place in GACC's order and whether the printing merely repeats an
    earlier, more precise one.

    Releases in order: a release month's flash (7th-14th of the next month) comes before its
    tables 13/14 (later that month), and a later release month after both. The monthly tables
    print the flash's figures in whole tonnes (and whole 万元): a printing with a coarser last digit
    that agrees, within half of it, with the latest earlier printing that had a finer one is the
    same figure (is_quantity_repeat, is_value_repeat), and the more precise one stands. Any other
    printing that differs is GACC's revision. Values are judged per currency. -#}
with

figures as (

    select * from {{ ref('stg_gacc_tables__figures') }}

),

files as (

    select * from {{ ref('stg_gacc_tables__files') }}

),

printed as (

    select
        figures.*,
        files.landing_sequence,
        files.landed_at,
        -- flash, then the monthly tables, of each release month
        date_diff('month', date '2000-01-01', figures.release_month) * 2
        + case when figures.release_kind = 'monthly_table' then 1 else 0 end as release_rank,
        1 / power(10, figures.quantity_decimals) as quantity_step_t

    from figures
    inner join files
        on
        figures.release_month = files.release_month
        and figures.source_file_sha256 = files.source_file_sha256

),

with_finer as (

    select
        printed.*,
        (
            select earlier.quantity_t
            from printed as earlier
            where
                earlier.series_id = printed.series_id
                and earlier.period_kind = printed.period_kind
                and earlier.period_start = printed.period_start
                and earlier.period_end = printed.period_end
                and earlier.quantity_step_t < printed.quantity_step_t
                and (
                    earlier.release_rank < printed.release_rank
                    or (
                        earlier.release_rank = printed.release_rank
                        and earlier.landing_sequence < printed.landing_sequence
                    )
                )
            order by earlier.release_rank desc, earlier.landing_sequence desc
            limit 1
        ) as finer_quantity_t,
        (
            select earlier.value
            from printed as earlier
            where
                earlier.series_id = printed.series_id
                and earlier.period_kind = printed.period_kind
                and earlier.period_start = printed.period_start
                and earlier.period_end = printed.period_end
                and earlier.value_currency = printed.value_currency
                and earlier.value_step < printed.value_step
                and (
                    earlier.release_rank < printed.release_rank
                    or (
                        earlier.release_rank = printed.release_rank
                        and earlier.landing_sequence < printed.landing_sequence
                    )
                )
            order by earlier.release_rank desc, earlier.landing_sequence desc
            limit 1
        ) as finer_value

    from printed

)

select
    with_finer.release_month,
    with_finer.source_file_sha256,
    with_finer.source_line,
    with_finer.release_kind,
    with_finer.flow,
    with_finer.series_id,
    with_finer.printed_as,
    with_finer.period_kind,
    with_finer.period_start,
    with_finer.period_end,
    with_finer.quantity_t,
    with_finer.quantity_decimals,
    with_finer.value_currency,
    with_finer.value,
    with_finer.value_step,
    with_finer.yoy_quantity_pct,
    with_finer.yoy_value_pct,
    with_finer.landing_sequence,
    with_finer.landed_at,
    with_finer.release_rank,
    with_finer.quantity_step_t,
    coalesce(
        abs(with_finer.quantity_t - with_finer.finer_quantity_t) <= with_finer.quantity_step_t / 2, false
    ) as is_quantity_repeat,
    coalesce(abs(with_finer.value - with_finer.finer_value) <= with_finer.value_step / 2, false)
        as is_value_repeat

from with_finer
