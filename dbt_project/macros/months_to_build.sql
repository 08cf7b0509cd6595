{#-
    The data months a build recomputes, as a subquery for `month in (...)`: those the pipeline marked
    in audit.months_to_build (the month a run loaded; every month for a whole build), or every loaded
    month when none is marked (a build run by hand). Written as an IN subquery so
    DuckDB pushes the month filter into the month-partitioned views instead of scanning the history.
-#}
{% macro months_to_build_sql() -%}
    select data_month from {{ source('builds', 'months_to_build') }}
    union all
    select distinct data_month from {{ source('gacc', 'export_files') }}
    where not exists (select 1 from {{ source('builds', 'months_to_build') }})
{%- endmacro %}

{#- The months whose fact rows depend on a recomputed month: itself, the next month (its
    month-over-month change) and the same month a year later (its year-over-year change). -#}
{% macro months_affected_sql() -%}
    select cast(data_month as date) as month from ({{ months_to_build_sql() }}) as built
    union
    select cast({{ dbt.dateadd('month', 1, 'data_month') }} as date) from ({{ months_to_build_sql() }}) as built
    union
    select cast({{ dbt.dateadd('month', 12, 'data_month') }} as date) from ({{ months_to_build_sql() }}) as built
{%- endmacro %}

{#- The months the affected months' rows are computed from: themselves, the month before and the
    same month a year earlier. -#}
{% macro months_needed_sql() -%}
    select month from ({{ months_affected_sql() }}) as affected
    union
    select cast({{ dbt.dateadd('month', -1, 'month') }} as date) from ({{ months_affected_sql() }}) as affected
    union
    select cast({{ dbt.dateadd('month', -12, 'month') }} as date) from ({{ months_affected_sql() }}) as affected
{%- endmacro %}
