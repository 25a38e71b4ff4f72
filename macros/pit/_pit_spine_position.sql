{#- The position of each spine row (`__pit_row`), which restores spine order
    at the end of point_in_time_join. It dispatches on the adapter because a
    window function with an empty OVER () is not valid everywhere. -#}
{% macro _pit_spine_position() %}
    {{- return(adapter.dispatch('_pit_spine_position', 'pitstop')()) -}}
{% endmacro %}

{#- DuckDB and most warehouses number rows in scan order with an empty window. -#}
{% macro default___pit_spine_position() -%}
    row_number() over ()
{%- endmacro %}

{#- Spark requires ORDER BY in row_number(); monotonically_increasing_id() is
    increasing in scan order (partition, then row), which is the only order a
    Spark table has. It is not consecutive, which the join does not need:
    https://spark.apache.org/docs/latest/api/sql/index.html#monotonically_increasing_id -#}
{% macro spark___pit_spine_position() -%}
    monotonically_increasing_id()
{%- endmacro %}
