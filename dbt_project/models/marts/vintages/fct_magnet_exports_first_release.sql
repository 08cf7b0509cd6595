{#- China's exports of rare-earth permanent magnets as GACC first published them: one row per
    (month, hs8_code, partner), the figure of its first vintage, the day it was released, and the
    changes on the month and on the year as they read that day (against the previous month and
    the same month a year earlier as known on that day: NULL when that month was not published
    yet, or not at all). fct_magnet_exports_monthly has the figures as they stand today. -#}
with

vintages as (

    select * from {{ ref('int_customs_export_vintages') }}
    where hs8_code in ({{ magnet_hs8_codes_sql() }})

),

partners as (

    select * from {{ ref('dim_partner') }}

),

first_vintages as (

    select * from vintages
    where vintage_number = 1

),

compared as (

    select
        first_vintages.*,
        (
            select count(*) from vintages as later
            where
                later.month = first_vintages.month
                and later.hs8_code = first_vintages.hs8_code
                and later.partner_code = first_vintages.partner_code
        ) as vintages,
        previous_month.quantity_kg as previous_month_quantity_kg,
        previous_year.quantity_kg as previous_year_quantity_kg,
        world.quantity_kg as world_quantity_kg

    from first_vintages
    left join vintages as previous_month
        on
        first_vintages.hs8_code = previous_month.hs8_code
        and first_vintages.partner_code = previous_month.partner_code
        and previous_month.month = cast(first_vintages.month - interval 1 month as date)
        and first_vintages.realtime_start >= previous_month.realtime_start
        and first_vintages.realtime_start < previous_month.realtime_end
    left join vintages as previous_year
        on
        first_vintages.hs8_code = previous_year.hs8_code
        and first_vintages.partner_code = previous_year.partner_code
        and previous_year.month = cast(first_vintages.month - interval 12 month as date)
        and first_vintages.realtime_start >= previous_year.realtime_start
        and first_vintages.realtime_start < previous_year.realtime_end
    left join vintages as world
        on
        first_vintages.hs8_code = world.hs8_code
        and world.partner_code = '{{ var("world_partner_code") }}'
        and first_vintages.month = world.month
        and first_vintages.realtime_start >= world.realtime_start
        and first_vintages.realtime_start < world.realtime_end

)

select
    compared.month,
    compared.hs8_code,
    compared.partner_code,
    partners.partner_iso3,
    partners.partner_name_en as partner_name,
    cast(compared.quantity_kg as decimal(18, 3)) as quantity_kg,
    cast(compared.quantity_kg / 1000 as decimal(18, 6)) as quantity_t,
    cast(compared.value_usd as decimal(18, 2)) as value_usd,
    -- computed as fct_magnet_exports_monthly computes them, from the figures known that day
    cast(
        round(100 * (compared.quantity_kg / nullif(compared.previous_month_quantity_kg, 0) - 1), 2) as double
    )
        as mom_pct,
    cast(round(100 * (compared.quantity_kg / nullif(compared.previous_year_quantity_kg, 0) - 1), 2) as double)
        as yoy_pct,
    cast(round(100 * compared.quantity_kg / nullif(compared.world_quantity_kg, 0), 2) as double)
        as share_of_world_pct,
    compared.realtime_start as first_released_on,
    compared.release_date_basis,
    compared.release_date_basis <> 'publisher' as is_release_date_supplied,
    cast(compared.vintages as integer) as vintages,
    compared.source_file_sha256

from compared
left join partners on compared.partner_code = partners.partner_code
