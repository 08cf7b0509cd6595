with

source as (

    select * from {{ source('gacc_tables', 'table_files') }}

),

renamed as (

    select
        release_month,
        sha256 as source_file_sha256,
        original_name as source_file_name,
        figures,
        landed_at,
        landing_sequence,
        table_kind as release_kind,
        flow,
        value_currency,
        value_unit,
        file_type,
        title

    from source

)

select * from renamed
