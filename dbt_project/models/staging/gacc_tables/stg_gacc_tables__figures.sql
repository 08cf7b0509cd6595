with

source as (

    select * from {{ source('gacc_tables', 'table_figures') }}

),

renamed as (

    select
        release_month,
        source_file_sha256,
        source_line,
        table_kind as release_kind,
        flow,
        series_id,
        printed_as,
        period_kind,
        period_start,
        period_end,
        cast(quantity as decimal(18, 3)) as quantity_t,
        quantity_decimals,
        value_currency,
        value,
        value_step,
        yoy_quantity_pct,
        yoy_value_pct

    from source

)

select * from renamed
