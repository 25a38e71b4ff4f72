{#-
    Private helper of window_aggregates: the SQL aggregate of one parsed
    aggregate over `value` (an expression that is NULL outside the window);
    `marker` is an expression that is non-NULL exactly for events inside the
    window (for counts of events). With `over` (a window name), the aggregate
    as a window function over it; a distinct count over a window is
    adapter-dispatched (`_windows_distinct_over`), since Spark has no
    DISTINCT window aggregates.
-#}
{% macro _windows_aggregate_sql(function, value, marker, over=none) %}
    {%- set suffix = '' if over is none else ' over ' ~ over -%}
    {%- if function == 'count' and value is none -%}
        {{ return('count(' ~ marker ~ ')' ~ suffix) }}
    {%- elif function == 'count_distinct' and over is not none -%}
        {{ return(adapter.dispatch('_windows_distinct_over', 'pitstop')(value, over)) }}
    {%- elif function == 'count_distinct' -%}
        {{ return('count(distinct ' ~ value ~ ')') }}
    {%- else -%}
        {{ return(function ~ '(' ~ value ~ ')' ~ suffix) }}
    {%- endif -%}
{% endmacro %}


{#-
    The number of distinct non-NULL values of `value` over window `over`.
    Spark: the size of collect_set, which skips NULLs as count(distinct)
    does, and is an empty array (size 0) over a frame without values; cast
    to bigint, the type of count.
-#}
{% macro default___windows_distinct_over(value, over) %}
    {{- return('count(distinct ' ~ value ~ ') over ' ~ over) -}}
{% endmacro %}

{% macro spark___windows_distinct_over(value, over) %}
    {{- return('cast(size(collect_set(' ~ value ~ ') over ' ~ over ~ ') as bigint)') -}}
{% endmacro %}
