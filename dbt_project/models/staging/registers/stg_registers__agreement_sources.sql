with

source as (

    select * from {{ source('registers', 'register_agreement_sources') }}

),

renamed as (

    select
        agreement_id,
        source_url

    from source

)

select * from renamed
