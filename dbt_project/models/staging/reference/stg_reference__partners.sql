with

source as (

    select * from {{ ref('gacc_partners') }}

),

renamed as (

    select
        partner_code,
        partner_name_en,
        partner_name_zh,
        nullif(iso2, '') as partner_iso2,
        nullif(iso3, '') as partner_iso3

    from source

)

select * from renamed
