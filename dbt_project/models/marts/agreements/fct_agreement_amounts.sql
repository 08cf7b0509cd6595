with

amounts as (

    select * from {{ ref('int_agreement_amounts_converted') }}

)

select
    agreement_id,
    amount_order,
    amount_original,
    currency,
    amount_usd,
    qualifier,
    purpose,
    is_headline,
    as_stated

from amounts
