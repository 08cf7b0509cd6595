{#- One row per source: how recent the published data is, and when its next month is due. Built
    from the loaded files only (never the clock), so it is the same however the warehouse was
    built; compare its dates with current_date when you read it. -#}
with

files as (

    select * from {{ ref('stg_gacc__export_files') }}

),

months as (

    select
        month,
        -- a month's files can be landed at different times: the newest is when it was last updated
        max(landed_at) as landed_at

    from files
    group by month

),

summary as (

    -- an aggregate without group by: one row, also before any month is loaded
    select
        min(month) as first_month,
        max(month) as latest_month,
        max(landed_at) as last_landed_at,
        count(*) as months_loaded

    from months

),

next_month as (

    select
        summary.first_month,
        summary.latest_month,
        summary.last_landed_at,
        summary.months_loaded,
        months.landed_at as latest_month_landed_at,
        cast(summary.latest_month + interval 1 month as date) as next_month

    from summary
    left join months
        on summary.latest_month = months.month

)

select
    'gacc/export' as source_name,
    latest_month,
    latest_month_landed_at,
    last_landed_at,
    months_loaded,
    -- months between the first and the latest with no data loaded (GACC published no breakdown)
    coalesce(datediff('month', first_month, latest_month) + 1 - months_loaded, 0) as months_missing,
    next_month,
    -- GACC publishes a month's breakdown around a day of the following month
    cast(next_month + interval 1 month as date) + ({{ var('gacc_publication_day') }} - 1)
        as next_month_published_around,
    cast(next_month + interval 1 month as date)
    + ({{ var('gacc_publication_day') }} - 1 + {{ var('gacc_publication_grace_days') }})
        as next_month_expected_by

from next_month
