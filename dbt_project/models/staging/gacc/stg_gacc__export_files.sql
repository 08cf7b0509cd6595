with

source as (

    select * from {{ source('gacc', 'export_files') }}

),

renamed as (

    select
        data_month as month,
        sha256 as source_file_sha256,
        original_name as source_file_name,
        data_rows,
        landed_at,
        landing_sequence,
        header_language,
        has_partner_column as is_partner_breakdown,
        value_currency,
        coalesce(released_on, cast(landed_at as date)) as released_on,
        coalesce(release_date_basis, 'landing') as release_date_basis,
        coalesce(is_current, true) as is_current

    from source

)

select * from renamed
