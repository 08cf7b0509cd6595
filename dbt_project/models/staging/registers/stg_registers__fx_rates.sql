with

source as (

    select * from {{ source('registers', 'register_fx_rates') }}

),

renamed as (

    select
        currency,
        usd_per_unit,
        valid_from,
        source

    from source

)

select * from renamed
