with

source as (

    select * from {{ source('registers', 'register_agreement_instruments') }}

),

renamed as (

    select
        agreement_id,
        instrument

    from source

)

select * from renamed
