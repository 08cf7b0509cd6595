{#- dbt-duckdb's fast seed loader lets DuckDB sniff the CSV dialect, and the sniffer misses the
    standard "" escape inside quoted fields (GACC's HS list has `""herring-bone""`). Same COPY,
    with the dialect stated. -#}
{% macro duckdb__load_csv_rows(model, agate_table) %}
    {% if not config.get('fast', true) %}
        {{ return(dbt_duckdb.duckdb__load_csv_rows(model, agate_table)) }}
    {% endif %}
    {% set seed_file_path = adapter.get_seed_file_path(model) %}
    {% set delimiter = config.get('delimiter', ',') %}
    {% set sql %}
      COPY {{ this.render() }} FROM '{{ seed_file_path }}'
      (FORMAT CSV, HEADER TRUE, DELIMITER '{{ delimiter }}', QUOTE '"', ESCAPE '"')
    {% endset %}
    {% do adapter.add_query(sql, abridge_sql_log=True) %}
    {{ return(sql) }}
{% endmacro %}
