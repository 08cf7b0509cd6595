with

results as (

    select * from {{ ref('stg_audit__data_quality_results') }}

)

select
    month,
    dataset,
    batch,
    expectation,
    expectation_type,
    severity,
    success,
    observed_value,
    unexpected_count,
    validated_at

from results
