with

source as (

    select * from {{ source('audit', 'data_quality_results') }}

),

renamed as (

    select
        data_month as month,
        dataset,
        batch,
        rule as expectation,
        expectation_type,
        severity,
        success,
        observed_value,
        unexpected_count,
        validated_at

    from source

)

select * from renamed
