{#- A deterministic hash of a feature row: the last key of the tie order (see
    `_pit_tiebreak`, which says over which columns). It dispatches on the
    adapter, not on point_in_time_join's `impl`, so that the default__ and
    duckdb__ forms, feature_history and materialize break ties identically on
    the same warehouse. An adapter's variant may hash differently (md5 of text,
    say): the order only has to be one order across the entry points of one
    engine. -#}
{% macro _pit_row_hash(columns) %}
    {{- return(adapter.dispatch('_pit_row_hash', 'pitstop')(columns)) -}}
{% endmacro %}

{% macro default___pit_row_hash(columns) -%}
    md5(
        {%- for c in columns %}
        coalesce(cast({{ c }} as {{ dbt.type_string() }}), '\x00null') || '\x1f'
        {{- ' ||' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{#- DuckDB's hash() takes any number of arguments of any type, NULLs included:
    https://duckdb.org/docs/stable/sql/functions/utility#hashvalue -#}
{% macro duckdb___pit_row_hash(columns) -%}
    hash({{ columns | join(', ') }})
{%- endmacro %}
