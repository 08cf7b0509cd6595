{#- Use the folder's schema as is (marts, staging, ...), not dbt's default <target>_<custom>:
    analysts and BI tools query `marts.<table>`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
