{#-
    Private helper of window_aggregates: the SQL aggregate of one parsed
    aggregate over `value` (an expression that is NULL outside the window);
    `marker` is an expression that is non-NULL exactly for events inside the
    window (for counts of events).
-#}
{% macro _windows_aggregate_sql(function, value, marker) %}
    {%- if function == 'count' and value is none -%}
        {{ return('count(' ~ marker ~ ')') }}
    {%- elif function == 'count_distinct' -%}
        {{ return('count(distinct ' ~ value ~ ')') }}
    {%- else -%}
        {{ return(function ~ '(' ~ value ~ ')') }}
    {%- endif -%}
{% endmacro %}
