{#- The `__pit_spine` CTE shared by every form of point_in_time_join: the
    spine's rows with their position (`__pit_row`, to restore spine order) and
    the spine timestamp cast to a timestamp (`__pit_t`). -#}
{% macro _pit_spine(spine, spine_timestamp) -%}
__pit_spine as (

    select
        *,
        {{ pitstop._pit_spine_position() }} as __pit_row,
        cast({{ adapter.quote(spine_timestamp) }} as {{ dbt.type_timestamp() }}) as __pit_t
    from {{ spine }}

)
{%- endmacro %}
