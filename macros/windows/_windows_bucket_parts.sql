{#-
    Private helper of the buckets form: the running aggregates (name, SQL
    with `@over` for the window name) each half of one parsed aggregate
    needs: avg needs a sum and a count, a distinct count the set itself.
-#}
{% macro _windows_bucket_parts(a, spec) %}
    {%- set value = none if a.column is none
        else '_win_v' ~ (spec.value_columns.index(a.column) + 1) -%}
    {%- if a.function == 'avg' -%}
        {{ return([
            {'name': 'sum', 'sql': pitstop._windows_aggregate_sql('sum', value, '_win_event', over='@over')},
            {'name': 'n', 'sql': pitstop._windows_aggregate_sql('count', value, '_win_event', over='@over')},
        ]) }}
    {%- elif a.function == 'count_distinct' -%}
        {{ return([{'name': 'set', 'sql': 'collect_set(' ~ value ~ ') over @over'}]) }}
    {%- else -%}
        {{ return([{'name': a.function,
            'sql': pitstop._windows_aggregate_sql(a.function, value, '_win_event', over='@over')}]) }}
    {%- endif -%}
{% endmacro %}
