{#- A combination of columns is unique (a composite primary key), without a package dependency:
    dbt deps would need the network. -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
