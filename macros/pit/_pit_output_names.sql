{#- Output column names of the join (spine columns when known, then features). -#}
{% macro _pit_output_names(plan, spine_columns) %}
    {%- if spine_columns is none -%}{{ return(none) }}{%- endif -%}
    {%- set names = spine_columns | list -%}
    {%- for v in plan -%}
        {%- for f in v.features -%}{%- do names.append(f.output) -%}{%- endfor -%}
    {%- endfor -%}
    {{ return(names) }}
{% endmacro %}
