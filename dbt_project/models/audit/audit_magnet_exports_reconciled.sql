{#-
    The mart gate's reconciliation, one row per (month, hs8_code, partner) of the magnet exports
    fact or of the raw rows. Written independently of the marts' SQL on purpose, so it stays a real
    check: it re-sums the raw rows of the very file each fact row names, and lists every
    (month, hs8_code, partner) that any landed file covers, so a tonne lost, doubled or mis-scaled
    between the raw rows and the published fact shows as a non-zero difference_kg.
    Only the files' current versions are reconciled (the earlier releases are in the vintages). A
    figure whose latest vintage revised an earlier one carries that earlier quantity
    (revised_from_kg) and how far the revision goes beyond var('revision_warning_share') of it.
    Validated by expectations/fct_magnet_exports_monthly.json before a month is published.
-#}
with

facts as (

    select * from {{ ref('fct_magnet_exports_monthly') }}

),

export_rows as (

    select * from {{ ref('stg_gacc__export_rows') }}

),

export_files as (

    select * from {{ ref('stg_gacc__export_files') }}

),

events as (

    select * from {{ ref('dim_policy_event') }}

),

-- the vintage a figure had before its latest, when the latest is a revision
revised as (

    select
        latest.month,
        latest.hs8_code,
        latest.partner_code,
        earlier.quantity_kg as before_quantity_kg

    from {{ ref('int_customs_export_vintages') }} as latest
    inner join {{ ref('int_customs_export_vintages') }} as earlier
        on
        latest.month = earlier.month
        and latest.hs8_code = earlier.hs8_code
        and latest.partner_code = earlier.partner_code
        and earlier.vintage_number = latest.vintage_number - 1
    where latest.realtime_end = date '{{ var("open_realtime_end") }}'

),

raw_per_file as (

    select
        export_rows.month,
        export_rows.hs8_code,
        case
            when export_files.is_partner_breakdown then export_rows.partner_code
            else '{{ var("world_partner_code") }}'
        end as partner_code,
        export_rows.source_file_sha256,
        sum(export_rows.quantity_first_unit) as raw_quantity_kg

    from export_rows
    inner join export_files
        on
        export_rows.month = export_files.month
        and export_rows.source_file_sha256 = export_files.source_file_sha256
    where export_rows.hs8_code in ({{ magnet_hs8_codes_sql() }}) and export_files.is_current
    group by 1, 2, 3, 4

),

raw_keys as (

    select
        month,
        hs8_code,
        partner_code,
        max(raw_quantity_kg) as largest_raw_quantity_kg,
        string_agg(source_file_sha256, ',' order by source_file_sha256) as covering_file_sha256s

    from raw_per_file
    group by 1, 2, 3

),

events_by_month as (

    select
        months.month,
        string_agg(
            cast(events.event_on as varchar) || ' ' || events.authority || ' ' || events.reference
            || ' (' || events.event_type || ')',
            '; ' order by events.event_on
        ) as events_near

    from (select distinct month from raw_keys) as months
    inner join events
        on abs(
            (extract(year from events.event_on) * 12 + extract(month from events.event_on))
            - (extract(year from months.month) * 12 + extract(month from months.month))
        ) <= {{ var('anomaly_event_window_months') }}
    group by 1

),

reconciled as (

    select
        coalesce(facts.month, raw_keys.month) as month,
        coalesce(facts.hs8_code, raw_keys.hs8_code) as hs8_code,
        coalesce(facts.partner_code, raw_keys.partner_code) as partner_code,
        facts.partner_name,
        cast(facts.quantity_kg as double) as quantity_kg,
        cast(facts.quantity_t as double) as quantity_t,
        -- the fact's own file; for a raw key without a fact row, what the files hold
        cast(coalesce(named_file.raw_quantity_kg, raw_keys.largest_raw_quantity_kg) as double)
            as raw_quantity_kg,
        cast(coalesce(facts.quantity_kg, 0) as double)
        - cast(
            coalesce(
                named_file.raw_quantity_kg,
                case when facts.month is null then raw_keys.largest_raw_quantity_kg end,
                0
            ) as double
        ) as difference_kg,
        cast(facts.quantity_t as double) * 1000 - cast(facts.quantity_kg as double) as tonnes_error_kg,
        facts.share_of_world_pct,
        facts.mom_pct,
        abs(facts.mom_pct) as abs_mom_pct,
        facts.yoy_pct,
        cast(revised.before_quantity_kg as double) as revised_from_kg,
        cast(
            abs(facts.quantity_kg - revised.before_quantity_kg) / nullif(revised.before_quantity_kg, 0)
            - {{ var('revision_warning_share') }}
            as double
        ) as revision_share_excess,
        coalesce(facts.source_file_sha256, raw_keys.covering_file_sha256s) as source_file_sha256

    from facts
    full outer join raw_keys
        on
        facts.month = raw_keys.month
        and facts.hs8_code = raw_keys.hs8_code
        and facts.partner_code = raw_keys.partner_code
    left join raw_per_file as named_file
        on
        facts.month = named_file.month
        and facts.hs8_code = named_file.hs8_code
        and facts.partner_code = named_file.partner_code
        and facts.source_file_sha256 = named_file.source_file_sha256
    left join revised
        on
        facts.month = revised.month
        and facts.hs8_code = revised.hs8_code
        and facts.partner_code = revised.partner_code

)

select
    reconciled.*,
    events_by_month.events_near

from reconciled
left join events_by_month
    on reconciled.month = events_by_month.month
