-- Monthly magnet exports by destination, with the month-over-month and year-over-year changes.
--
-- Answers: how much did China export to each destination each month, and how did that change
-- against the previous month and the same month a year earlier, in tonnes and in percent?
-- A change is computed only against exactly the previous calendar month and exactly the same
-- month a year earlier; when that month was not published the change is NULL, never estimated.
-- partner_iso3 = 'WLD' is the world total.
--
-- Run against the published serving.duckdb (read-only):
--   critmin analysis exports_by_destination
-- or print the SQL, compiled for serving.duckdb, for a BI tool or the DuckDB CLI:
--   critmin analysis exports_by_destination --sql
with

exports as (

    select * from {{ ref('fct_magnet_exports_monthly') }}

)

select
    exports.month,
    exports.hs8_code,
    exports.partner_iso3,
    exports.partner_name,
    exports.quantity_t,
    previous_month.quantity_t as previous_month_t,
    exports.quantity_t - previous_month.quantity_t as mom_change_t,
    exports.mom_pct,
    previous_year.quantity_t as previous_year_t,
    exports.quantity_t - previous_year.quantity_t as yoy_change_t,
    exports.yoy_pct,
    exports.share_of_world_pct

from exports
left join exports as previous_month
    on exports.hs8_code = previous_month.hs8_code
    and exports.partner_code = previous_month.partner_code
    and previous_month.month = cast(exports.month - interval 1 month as date)
left join exports as previous_year
    on exports.hs8_code = previous_year.hs8_code
    and exports.partner_code = previous_year.partner_code
    and previous_year.month = cast(exports.month - interval 12 month as date)

order by
    exports.month asc,
    exports.hs8_code asc,
    exports.partner_iso3 = 'WLD' desc,
    exports.quantity_t desc,
    exports.partner_iso3 asc
