{#- Every figure the landed commodity tables print, one row per printing (a table version, a
    series, a period), with the printing's place in GACC's order and whether it merely repeats an
    earlier, more precise one.

    Printings in order (printing_order): by the day their table was released; on the same day, a
    release month's flash before its tables 13/14 and an earlier release month first (as GACC
    publishes them), then the order of landing. The monthly tables print the flash's figures in
    whole tonnes (and whole 万元): a printing with a coarser last digit that agrees, within half of
    it, with the latest earlier printing that had a finer one is the same figure
    (is_quantity_repeat, is_value_repeat), and the more precise one stands. Any other printing
    that differs is GACC's revision. Values are judged per currency. Every loaded table version is
    here (is_current: the file's current version; the others are earlier releases it superseded). -#}
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
        files.source_file_name,
        files.landing_sequence,
        files.landed_at,
        files.released_on,
        files.release_date_basis,
        files.is_current,
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

ordered as (

    select
        *,
        -- released_on, then release_rank, then landing_sequence, as one sortable number
        cast(date_diff('day', date '2000-01-01', released_on) as hugeint) * 1000000000000
        + cast(release_rank as hugeint) * 1000000
        + landing_sequence as printing_order

    from printed

),

with_finer as (

    select
        ordered.*,
        (
            select earlier.quantity_t
            from ordered as earlier
            where
                earlier.series_id = ordered.series_id
                and earlier.period_kind = ordered.period_kind
                and earlier.period_start = ordered.period_start
                and earlier.period_end = ordered.period_end
                and earlier.quantity_step_t < ordered.quantity_step_t
                and earlier.printing_order < ordered.printing_order
            order by earlier.printing_order desc
            limit 1
        ) as finer_quantity_t,
        (
            select earlier.value
            from ordered as earlier
            where
                earlier.series_id = ordered.series_id
                and earlier.period_kind = ordered.period_kind
                and earlier.period_start = ordered.period_start
                and earlier.period_end = ordered.period_end
                and earlier.value_currency = ordered.value_currency
                and earlier.value_step < ordered.value_step
                and earlier.printing_order < ordered.printing_order
            order by earlier.printing_order desc
            limit 1
        ) as finer_value

    from ordered

)

select
    with_finer.release_month,
    with_finer.source_file_sha256,
    with_finer.source_file_name,
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
    with_finer.released_on,
    with_finer.release_date_basis,
    with_finer.is_current,
    with_finer.release_rank,
    with_finer.printing_order,
    with_finer.quantity_step_t,
    coalesce(
        abs(with_finer.quantity_t - with_finer.finer_quantity_t) <= with_finer.quantity_step_t / 2, false
    ) as is_quantity_repeat,
    coalesce(abs(with_finer.value - with_finer.finer_value) <= with_finer.value_step / 2, false)
        as is_value_repeat

from with_finer
