-- Top 15 destinations year to date (the latest month's year), with their share of the world total.
with

latest as (
    select max(month) as month from marts.fct_magnet_exports_monthly
),

ytd as (
    select
        exports.partner_iso3,
        any_value(exports.partner_name) as partner_name,
        sum(exports.quantity_t) as quantity_t,
        sum(exports.value_usd) as value_usd,
        count(*) as months
    from marts.fct_magnet_exports_monthly as exports, latest
    where exports.hs8_code = '85051110'
        and exports.month between date_trunc('year', latest.month) and latest.month
    group by exports.partner_iso3
)

select
    partner_iso3,
    partner_name,
    quantity_t,
    value_usd,
    months,
    round(100 * quantity_t / (select quantity_t from ytd where partner_iso3 = 'WLD'), 2) as share_of_world_pct
from ytd
where partner_iso3 <> 'WLD'
order by quantity_t desc nulls last
limit 15
