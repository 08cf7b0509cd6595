with

agreements as (

    select * from {{ ref('int_mineral_agreements_summarized') }}

)

select
    agreement_id,
    announced_on,
    title,
    parties_summary,
    instrument_types,
    minerals,
    is_binding,
    is_conditional,
    status,
    headline_amount_usd,
    headline_qualifier,
    headline_as_stated,
    summary,
    source_urls

from agreements
