-- One destination's last 24 months (United States): tonnes, share of world and change of share.
-- (adapted from dbt_project/analyses/destination_share_over_time.sql)
with

world as (
    select month, quantity_t
    from marts.fct_magnet_exports_monthly
    where partner_iso3 = 'WLD' and hs8_code = '85051110'
),

destination as (
    select month, quantity_t, share_of_world_pct
    from marts.fct_magnet_exports_monthly
    where partner_iso3 = 'USA' and hs8_code = '85051110'
),

shares as (
    select
        world.month,
        destination.quantity_t,
        world.quantity_t as world_quantity_t,
        destination.share_of_world_pct
    from world
    left join destination on world.month = destination.month
    where world.month > (select max(month) from world) - interval 24 month
)

select
    shares.*,
    round(shares.share_of_world_pct - previous_month.share_of_world_pct, 2) as share_change_pp
from shares
left join shares as previous_month
    on previous_month.month = cast(shares.month - interval 1 month as date)
order by shares.month
