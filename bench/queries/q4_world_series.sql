-- The world total, every month: tonnes, value, unit value, month-over-month and year-over-year.
-- (a line chart's series; changes only against exactly the previous month / the same month a year earlier)
select
    exports.month,
    exports.quantity_t,
    exports.value_usd,
    round(exports.value_usd / nullif(exports.quantity_kg, 0), 2) as usd_per_kg,
    exports.quantity_t - previous_month.quantity_t as mom_change_t,
    exports.mom_pct,
    exports.quantity_t - previous_year.quantity_t as yoy_change_t,
    exports.yoy_pct
from marts.fct_magnet_exports_monthly as exports
left join marts.fct_magnet_exports_monthly as previous_month
    on exports.hs8_code = previous_month.hs8_code
    and exports.partner_code = previous_month.partner_code
    and previous_month.month = cast(exports.month - interval 1 month as date)
left join marts.fct_magnet_exports_monthly as previous_year
    on exports.hs8_code = previous_year.hs8_code
    and exports.partner_code = previous_year.partner_code
    and previous_year.month = cast(exports.month - interval 12 month as date)
where exports.partner_iso3 = 'WLD' and exports.hs8_code = '85051110'
order by exports.month
