{#- `alias.*` without the helper columns `except`. -#}
{% macro _pit_star_except(alias, except, spine, spine_columns) %}
    {{- return(adapter.dispatch('_pit_star_except', 'pitstop')(alias, except, spine,
        spine_columns)) -}}
{% endmacro %}

{% macro default___pit_star_except(alias, except, spine, spine_columns) -%}
    {%- set columns = spine_columns -%}
    {%- if columns is none and spine is not string -%}
        {%- set columns = adapter.get_columns_in_relation(spine) | map(attribute='name')
            | list -%}
    {%- endif -%}
    {%- if not columns -%}
        {{ exceptions.raise_compiler_error("point_in_time_join: spine_columns is required on"
            ~ " this adapter when the spine is a CTE name") }}
    {%- endif -%}
    {%- for c in columns if c not in except -%}
        {{ alias }}.{{ adapter.quote(c) }}{{ ', ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- https://duckdb.org/docs/stable/sql/expressions/star#exclude-clause -#}
{% macro duckdb___pit_star_except(alias, except, spine, spine_columns) -%}
    {{ alias }}.* exclude ({{ except | join(', ') }})
{%- endmacro %}
