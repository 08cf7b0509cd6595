{#-
    Every trade figure as it was known on a day, as a query: the vintage of each figure
    (fct_trade_vintages) whose realtime_start <= known_on < realtime_end. A figure not yet
    published on that day has no row; a figure published then revised shows the value that stood
    that day. known_on is a 'YYYY-MM-DD' string or a SQL date expression.

        select * from ({{ as_of('2025-10-20') }}) where series_id = 'rare_earths_export'

    analyses/trade_as_of.sql runs it for a day given as the var as_of.
-#}
{% macro as_of(known_on, relation=none) -%}
    {%- set day = "date '" ~ known_on ~ "'" if known_on is string and known_on | length == 10 else known_on -%}
    select * from {{ relation or ref('fct_trade_vintages') }}
    where realtime_start <= {{ day }} and {{ day }} < realtime_end
{%- endmacro %}
