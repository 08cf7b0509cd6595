with

source as (

    select * from {{ ref('gacc_hs8_codes') }}

),

renamed as (

    select
        hs8_code,
        description_en,
        description_zh,
        nullif(first_unit_code, '?') as first_unit_code,
        nullif(first_unit_en, '?') as first_unit_en,
        nullif(first_unit_zh, '?') as first_unit_zh,
        nullif(second_unit_code, '?') as second_unit_code,
        nullif(second_unit_en, '?') as second_unit_en,
        nullif(second_unit_zh, '?') as second_unit_zh,
        cast(code_list_year as integer) as code_list_year

    from source

)

select * from renamed
