{#- The rare-earth element symbols of dim_mineral, as a SQL list: 'Sc', 'Y', ... -#}
{% macro rare_earth_symbols_sql() -%}
    {%- for symbol in var('rare_earth_symbols') -%}
        '{{ symbol }}'{% if not loop.last %}, {% endif %}
    {%- endfor -%}
{%- endmacro %}
