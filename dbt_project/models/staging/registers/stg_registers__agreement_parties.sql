with

source as (

    select * from {{ source('registers', 'register_agreement_parties') }}

),

renamed as (

    select
        agreement_id,
        party_order,
        party_name,
        party_kind,
        country_iso2

    from source

)

select * from renamed
