with

versions as (

    select * from {{ ref('snap_mineral_agreements') }}

)

select
    agreement_id,
    title,
    status,
    headline_amount_usd,
    headline_qualifier,
    is_binding,
    file_sha256,
    dbt_valid_from as valid_from_at,
    dbt_valid_to as valid_to_at,
    dbt_valid_to is null as is_current

from versions
