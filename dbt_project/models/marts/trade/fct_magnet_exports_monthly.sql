{#-
    China's exports of rare-earth permanent magnets, one row per (month, hs8_code, partner).
    Month-over-month and year-over-year compare with exactly the previous month and the same month
    a year earlier: when that month is absent (not published, not landed) the change is NULL, never
    a change against whatever month happens to come before.

    Incremental: a run recomputes the months its load changed (macros/months_to_build.sql) and the
    months whose changes they feed, deleting their rows first (so a partner that disappeared from a
    corrected month disappears here too). A whole build (--full-refresh) recomputes every month.
-#}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where month in ({{ months_affected_sql() }}){% endif %}"
    )
}}

with

exports as (

    select * from {{ ref('int_customs_exports_aggregated') }}
    where
        hs8_code in ({{ magnet_hs8_codes_sql() }})
        {% if is_incremental() -%}
            and month in ({{ months_needed_sql() }})
        {%- endif %}

),

partners as (

    select * from {{ ref('dim_partner') }}

),

world_totals as (

    select
        month,
        hs8_code,
        quantity_kg as world_quantity_kg
    from exports
    where partner_code = '{{ var("world_partner_code") }}'

),

compared as (

    select
        exports.month,
        exports.hs8_code,
        exports.partner_code,
        partners.partner_iso3,
        partners.partner_name_en as partner_name,
        exports.quantity_kg,
        exports.value_usd,
        previous_month.quantity_kg as previous_month_quantity_kg,
        previous_year.quantity_kg as previous_year_quantity_kg,
        world_totals.world_quantity_kg,
        exports.source_file_sha256

    from exports
    left join partners
        on exports.partner_code = partners.partner_code
    left join exports as previous_month
        on exports.hs8_code = previous_month.hs8_code
        and exports.partner_code = previous_month.partner_code
        and previous_month.month = cast({{ dbt.dateadd('month', -1, 'exports.month') }} as date)
    left join exports as previous_year
        on exports.hs8_code = previous_year.hs8_code
        and exports.partner_code = previous_year.partner_code
        and previous_year.month = cast({{ dbt.dateadd('month', -12, 'exports.month') }} as date)
    left join world_totals
        on exports.month = world_totals.month
        and exports.hs8_code = world_totals.hs8_code

),

final as (

    select
        month,
        hs8_code,
        partner_code,
        partner_iso3,
        partner_name,
        cast(quantity_kg as decimal(18, 3)) as quantity_kg,
        cast(quantity_kg / 1000 as decimal(18, 6)) as quantity_t,
        cast(value_usd as decimal(18, 2)) as value_usd,
        -- percentages are doubles rounded to 2 places (a decimal divided by a decimal is a double)
        cast(round(100 * (quantity_kg / nullif(previous_month_quantity_kg, 0) - 1), 2) as double) as mom_pct,
        cast(round(100 * (quantity_kg / nullif(previous_year_quantity_kg, 0) - 1), 2) as double) as yoy_pct,
        cast(round(100 * quantity_kg / nullif(world_quantity_kg, 0), 2) as double) as share_of_world_pct,
        source_file_sha256

    from compared
    {% if is_incremental() -%}
        where month in ({{ months_affected_sql() }})
    {%- endif %}

)

select * from final
