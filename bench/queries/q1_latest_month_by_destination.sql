-- The latest month by destination: tonnes, value, changes and share of the world total.
-- (a dashboard's landing table; the world total first, then destinations by tonnes)
select
    month,
    partner_iso3,
    partner_name,
    quantity_t,
    value_usd,
    mom_pct,
    yoy_pct,
    share_of_world_pct
from marts.fct_magnet_exports_monthly
where month = (select max(month) from marts.fct_magnet_exports_monthly)
    and hs8_code = '85051110'
order by partner_iso3 = 'WLD' desc, quantity_t desc nulls last, partner_iso3
