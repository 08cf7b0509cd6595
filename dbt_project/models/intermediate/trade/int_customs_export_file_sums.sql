{#-
    One row per (month, file version, hs8_code, partner_code): a download's rows summed over the
    dimensions the query had (customs regime, province). A commodity-only download gives the world
    total, under partner code var('world_partner_code'). Every loaded version is here: the files'
    current versions (int_customs_exports_aggregated) and the earlier releases they superseded
    (int_customs_export_vintages).
-#}
with

export_rows as (

    select * from {{ ref('stg_gacc__export_rows') }}

),

export_files as (

    select * from {{ ref('stg_gacc__export_files') }}

),

hs8_codes as (

    select * from {{ ref('stg_reference__hs8_codes') }}

)

select
    export_rows.month,
    export_rows.hs8_code,
    case
        when export_files.is_partner_breakdown then export_rows.partner_code
        else '{{ var("world_partner_code") }}'
    end as partner_code,
    export_rows.source_file_sha256,
    any_value(export_files.source_file_name) as source_file_name,
    any_value(export_files.released_on) as released_on,
    any_value(export_files.release_date_basis) as release_date_basis,
    any_value(export_files.landing_sequence) as landing_sequence,
    any_value(export_files.is_current) as is_current,
    -- a sum with one unknown or non-kilogram quantity is unknown, never a smaller number
    case
        when
            count(*) = count(
                case
                    when coalesce(export_rows.is_unit_kilogram, hs8_codes.first_unit_code = '09')
                        then export_rows.quantity_first_unit
                end
            )
            then sum(export_rows.quantity_first_unit)
    end as quantity_kg,
    -- a sum with one unknown value is unknown
    case
        when count(*) = count(export_rows.value_usd) then sum(export_rows.value_usd)
    end as value_usd,
    count(*) as source_row_count

from export_rows
inner join export_files
    on export_rows.month = export_files.month
    and export_rows.source_file_sha256 = export_files.source_file_sha256
left join hs8_codes
    on export_rows.hs8_code = hs8_codes.hs8_code
group by 1, 2, 3, 4
