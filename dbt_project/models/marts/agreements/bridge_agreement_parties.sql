with

parties as (

    select * from {{ ref('stg_registers__agreement_parties') }}

)

select
    agreement_id,
    party_order,
    party_name,
    party_kind,
    country_iso2

from parties
