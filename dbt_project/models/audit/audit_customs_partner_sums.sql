{#-
    Per month and tariff code: the world total (commodity-only downloads) beside the sum over
    partners (by-partner downloads), each from the file that int_customs_exports_aggregated kept.
    Partners adding up to more than the world total mean a wrong or mixed-up download.
    Validated by expectations/gacc_export_month.json before a month is published.
-#}
with

exports as (

    select * from {{ ref('int_customs_exports_aggregated') }}

),

per_code as (

    select
        month,
        hs8_code,
        max(
            case when partner_code = '{{ var("world_partner_code") }}' then quantity_kg end
        ) as world_quantity_kg,
        sum(
            case when partner_code != '{{ var("world_partner_code") }}' then quantity_kg end
        ) as partner_sum_kg,
        string_agg(
            distinct case
                when partner_code != '{{ var("world_partner_code") }}' then source_file_sha256
            end,
            ','
        ) as partner_file_sha256s

    from exports
    group by 1, 2

)

select
    month,
    hs8_code,
    cast(world_quantity_kg as double) as world_quantity_kg,
    cast(partner_sum_kg as double) as partner_sum_kg,
    cast(partner_sum_kg as double) / nullif(cast(world_quantity_kg as double), 0) as partner_to_world_ratio,
    partner_file_sha256s

from per_code
