{#- The select list of the `__pit_final` CTE shared by every form of
    point_in_time_join: the spine's own columns (helpers excluded), the output
    feature columns of each view of the plan read from its matched row (alias
    v.alias, TTL or validity applied at `s.__pit_t`), then `s.__pit_row`. The
    forms differ only in how they join the matched rows to `__pit_spine as s`. -#}
{% macro _pit_final_columns(plan, spine, spine_columns) -%}
        {{ pitstop._pit_star_except('s', ['__pit_row', '__pit_t'], spine, spine_columns) }},
        {%- for v in plan %}
        {{ pitstop._pit_output_columns(v, v.alias, 's.__pit_t') | indent(4) }},
        {%- endfor %}
        s.__pit_row
{%- endmacro %}
