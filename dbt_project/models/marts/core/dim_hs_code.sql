with

hs8_codes as (

    select * from {{ ref('stg_reference__hs8_codes') }}

),

final as (

    select
        hs8_code,
        description_en,
        description_zh,
        first_unit_code,
        first_unit_en,
        first_unit_zh,
        second_unit_code,
        second_unit_en,
        second_unit_zh,
        code_list_year,
        hs8_code in ({{ magnet_hs8_codes_sql() }}) as is_rare_earth_magnet

    from hs8_codes

)

select * from final
