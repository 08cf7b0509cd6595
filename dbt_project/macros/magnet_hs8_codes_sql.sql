{#- The China tariff codes of the magnet exports fact, as a SQL list: '85051110', ... -#}
{% macro magnet_hs8_codes_sql() -%}
    {%- for code in var('magnet_hs8_codes') -%}
        '{{ code }}'{% if not loop.last %}, {% endif %}
    {%- endfor -%}
{%- endmacro %}
