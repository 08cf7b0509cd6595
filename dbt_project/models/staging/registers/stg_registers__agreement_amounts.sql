with

source as (

    select * from {{ source('registers', 'register_agreement_amounts') }}

),

renamed as (

    select
        agreement_id,
        amount_order,
        amount,
        currency,
        qualifier,
        purpose,
        is_headline,
        as_stated

    from source

)

select * from renamed
