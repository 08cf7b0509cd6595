-- One destination's share of China's magnet exports over time.
--
-- Answers: what share of the world total went to one destination each month, and how did the
-- share move against the previous month (in percentage points)? One row per month with a
-- published world total. When the destination's own figure was not published for a month, its
-- tonnes and share are NULL (unknown), not zero; a change across such a month is NULL too.
-- partner_name comes from marts.dim_partner: NULL on every row means the code is not a known
-- destination.
--
-- Parameter: partner_iso3, the destination's ISO 3166-1 alpha-3 code (default USA).
--
-- Run against the published serving.duckdb (read-only):
--   critmin analysis destination_share_over_time --var partner_iso3=DEU
-- or print the SQL, compiled for serving.duckdb, for a BI tool or the DuckDB CLI:
--   critmin analysis destination_share_over_time --var partner_iso3=DEU --sql
{% set partner_iso3 = var('partner_iso3', 'USA') | string | replace("'", "''") %}

with

exports as (

    select * from {{ ref('fct_magnet_exports_monthly') }}

),

partners as (

    select * from {{ ref('dim_partner') }}

),

world as (

    select
        month,
        hs8_code,
        quantity_t
    from exports
    where partner_iso3 = 'WLD'

),

destination as (

    select
        month,
        hs8_code,
        quantity_t,
        share_of_world_pct
    from exports
    where partner_iso3 = '{{ partner_iso3 }}'

),

shares as (

    select
        world.month,
        world.hs8_code,
        '{{ partner_iso3 }}' as partner_iso3,
        partners.partner_name_en as partner_name,
        destination.quantity_t,
        world.quantity_t as world_quantity_t,
        destination.share_of_world_pct

    from world
    left join partners
        on partners.partner_iso3 = '{{ partner_iso3 }}'
    left join destination
        on world.month = destination.month
        and world.hs8_code = destination.hs8_code

)

select
    shares.month,
    shares.hs8_code,
    shares.partner_iso3,
    shares.partner_name,
    shares.quantity_t,
    shares.world_quantity_t,
    shares.share_of_world_pct,
    round(shares.share_of_world_pct - previous_month.share_of_world_pct, 2) as share_change_pp

from shares
left join shares as previous_month
    on shares.hs8_code = previous_month.hs8_code
    and previous_month.month = cast(shares.month - interval 1 month as date)

order by shares.month, shares.hs8_code
