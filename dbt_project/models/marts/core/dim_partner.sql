with

partners as (

    select * from {{ ref('stg_reference__partners') }}

),

world as (

    select
        '{{ var("world_partner_code") }}' as partner_code,
        'World (all partners)' as partner_name_en,
        '全球（所有贸易伙伴）' as partner_name_zh,
        cast(null as varchar) as partner_iso2,
        'WLD' as partner_iso3,
        true as is_world_total

),

final as (

    select
        partner_code,
        partner_name_en,
        partner_name_zh,
        partner_iso2,
        partner_iso3,
        false as is_world_total

    from partners

    union all

    select * from world

)

select * from final
