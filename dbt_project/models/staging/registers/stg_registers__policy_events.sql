with

source as (

    select * from {{ source('registers', 'register_policy_events') }}

),

renamed as (

    select
        event_id,
        event_on,
        authority,
        reference,
        event_type,
        summary,
        in_force_until,
        source_urls,
        source_file

    from source

)

select * from renamed
