-- Critical-mineral agreements by mineral and by instrument.
--
-- Answers: which minerals do the agreements cover, through which instruments (equity, loan,
-- offtake, price floor, ...), how many of them are binding, and what headline amounts they state?
-- One row per (mineral, instrument). An agreement counts once under each of its minerals and each
-- of its instruments, so the rows overlap: do not add them up across minerals or instruments.
-- stated_headline_usd adds the headline amounts as stated (exact, up to, at least, approximately;
-- see fct_agreement_amounts); agreements without a stated headline are counted, never as zero.
--
-- Run against the published serving.duckdb (read-only):
--   critmin analysis agreements_by_mineral_and_instrument
-- or print the SQL, compiled for serving.duckdb, for a BI tool or the DuckDB CLI:
--   critmin analysis agreements_by_mineral_and_instrument --sql
with

agreements as (

    select * from {{ ref('fct_mineral_agreements') }}

),

agreement_minerals as (

    select * from {{ ref('bridge_agreement_minerals') }}

),

minerals as (

    select * from {{ ref('dim_mineral') }}

),

agreement_instruments as (

    select
        agreement_id,
        unnest(string_split(instrument_types, ', ')) as instrument

    from agreements

)

select
    agreement_minerals.mineral_id,
    minerals.is_rare_earth_element,
    agreement_instruments.instrument,
    count(*) as agreements,
    count(*) filter (where agreements.is_binding) as binding_agreements,
    sum(agreements.headline_amount_usd) as stated_headline_usd,
    count(*) filter (where agreements.headline_amount_usd is null) as agreements_without_stated_headline,
    string_agg(agreements.agreement_id, ', ' order by agreements.announced_on, agreements.agreement_id)
        as agreement_ids

from agreement_minerals
inner join agreements
    on agreement_minerals.agreement_id = agreements.agreement_id
inner join agreement_instruments
    on agreement_minerals.agreement_id = agreement_instruments.agreement_id
left join minerals
    on agreement_minerals.mineral_id = minerals.mineral_id

group by
    agreement_minerals.mineral_id,
    minerals.is_rare_earth_element,
    agreement_instruments.instrument

order by agreements desc, agreement_minerals.mineral_id asc, agreement_instruments.instrument asc
