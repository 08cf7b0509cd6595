{#- The minerals and categories agreements name. Element symbols are recognised by form and by
    var('rare_earth_symbols'); everything else is a named category, as stated. -#}
with

minerals as (

    select distinct mineral from {{ ref('stg_registers__agreement_minerals') }}

)

select
    mineral as mineral_id,
    regexp_matches(mineral, '^[A-Z][a-z]?$') as is_element,
    case when regexp_matches(mineral, '^[A-Z][a-z]?$') then mineral end as element_symbol,
    mineral in ({{ rare_earth_symbols_sql() }}) as is_rare_earth_element

from minerals
