with

events as (

    select * from {{ ref('stg_registers__policy_events') }}

)

select
    event_id,
    event_on,
    authority,
    reference,
    event_type,
    summary,
    in_force_until,
    source_urls

from events
