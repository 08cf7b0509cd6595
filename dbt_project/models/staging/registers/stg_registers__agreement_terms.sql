with

source as (

    select * from {{ source('registers', 'register_agreement_terms') }}

),

renamed as (

    select
        agreement_id,
        term

    from source

)

select * from renamed
