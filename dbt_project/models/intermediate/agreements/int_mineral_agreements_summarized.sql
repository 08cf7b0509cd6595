{#- One row per agreement with its parties, instruments, minerals and headline amount flattened:
    the grain of the current fact and of the snapshot that keeps every earlier version. -#}
with

agreements as (

    select * from {{ ref('stg_registers__agreements') }}

),

parties as (

    select
        agreement_id,
        string_agg(party_name || ' (' || country_iso2 || ')', '; ' order by party_order) as parties_summary,
        count(*) as party_count

    from {{ ref('stg_registers__agreement_parties') }}
    group by agreement_id

),

instruments as (

    select
        agreement_id,
        string_agg(instrument, ', ' order by instrument) as instrument_types

    from {{ ref('stg_registers__agreement_instruments') }}
    group by agreement_id

),

minerals as (

    select
        agreement_id,
        string_agg(mineral, ', ' order by mineral) as minerals

    from {{ ref('stg_registers__agreement_minerals') }}
    group by agreement_id

),

sources as (

    select
        agreement_id,
        string_agg(source_url, ' ' order by source_url) as source_urls

    from {{ ref('stg_registers__agreement_sources') }}
    group by agreement_id

),

headlines as (

    select * from {{ ref('int_agreement_amounts_converted') }}
    where is_headline

)

select
    agreements.agreement_id,
    agreements.announced_on,
    agreements.title,
    parties.parties_summary,
    parties.party_count,
    instruments.instrument_types,
    minerals.minerals,
    agreements.is_binding,
    agreements.is_conditional,
    agreements.status,
    headlines.amount_usd as headline_amount_usd,
    headlines.qualifier as headline_qualifier,
    headlines.as_stated as headline_as_stated,
    agreements.summary,
    sources.source_urls,
    agreements.source_file,
    agreements.file_sha256

from agreements
left join parties on agreements.agreement_id = parties.agreement_id
left join instruments on agreements.agreement_id = instruments.agreement_id
left join minerals on agreements.agreement_id = minerals.agreement_id
left join sources on agreements.agreement_id = sources.agreement_id
left join headlines on agreements.agreement_id = headlines.agreement_id
