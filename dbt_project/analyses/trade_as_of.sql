-- Every trade figure as it was known on a day: GACC's headline rare-earth series and the magnet
-- exports by destination, each as the releases published by that day had it.
--
-- Answers: what did the published figures say on 20 October 2025? (Later revisions do not
-- show; figures not yet published that day have no row.) Each row names the release that
-- published it (release_kind, realtime_start) and whether that day is GACC's own
-- (is_release_date_supplied = false) or one critmin was given.
--
-- Run against the published serving.duckdb (read-only), for any day:
--   critmin analysis trade_as_of --var as_of=2025-10-20
-- or print the SQL, compiled for serving.duckdb, for a BI tool or the DuckDB CLI:
--   critmin analysis trade_as_of --var as_of=2025-10-20 --sql
with

known as (

    {{ as_of(var('as_of', '2025-10-20')) }}

)

select
    series_id,
    commodity,
    flow,
    hs8_code,
    partner_code,
    partner_name,
    period_kind,
    period_start,
    period_end,
    measure,
    unit,
    figure,
    realtime_start as released_on,
    release_kind,
    is_release_date_supplied,
    vintage_number > 1 as is_revised_by_then

from known
order by series_id, partner_name nulls first, period_start, period_end, measure
