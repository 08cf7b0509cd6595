with

source as (

    select * from {{ source('registers', 'register_agreements') }}

),

renamed as (

    select
        agreement_id,
        title,
        announced_on,
        is_binding,
        is_conditional,
        status,
        summary,
        source_file,
        file_sha256

    from source

)

select * from renamed
