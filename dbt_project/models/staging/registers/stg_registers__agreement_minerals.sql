with

source as (

    select * from {{ source('registers', 'register_agreement_minerals') }}

),

renamed as (

    select
        agreement_id,
        mineral

    from source

)

select * from renamed
