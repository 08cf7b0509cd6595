with

minerals as (

    select * from {{ ref('stg_registers__agreement_minerals') }}

)

select
    agreement_id,
    mineral as mineral_id

from minerals
