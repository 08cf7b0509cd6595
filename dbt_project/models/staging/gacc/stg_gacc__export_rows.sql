with

source as (

    select * from {{ source('gacc', 'export_rows') }}

),

renamed as (

    select
        data_month as month,
        source_file_sha256,
        source_line,
        hs8_code,
        commodity_name,
        partner_code,
        partner_name,
        regime_code,
        province_code,
        quantity as quantity_first_unit,
        unit in ('Kilogram', '千克') as is_unit_kilogram,
        value_usd,
        value_cny

    from source

)

select * from renamed
