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
        title,
        coalesce(released_on, cast(landed_at as date)) as released_on,
        coalesce(release_date_basis, 'landing') as release_date_basis,
        coalesce(is_current, true) as is_current

    from source

)

select * from renamed
