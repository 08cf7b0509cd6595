{#- A figure's vintages never overlap in time, and none is empty: ordered by realtime_start, each
    ends after it starts and no later than the next one starts. `columns` identify a figure. -#}
{% test vintages_do_not_overlap(model, columns) %}
select *
from (
    select
        {{ columns | join(', ') }},
        realtime_start,
        realtime_end,
        lead(realtime_start) over (
            partition by {{ columns | join(', ') }} order by realtime_start
        ) as next_realtime_start
    from {{ model }}
) as ordered
where realtime_end <= realtime_start or realtime_end > next_realtime_start
{% endtest %}
