{#- The output feature columns of view v read from matched row alias `r`. -#}
{% macro _pit_output_columns(v, r, t) -%}
    {%- set condition = pitstop._pit_match_condition(v, r, t) | trim -%}
    {%- for f in v.features %}
        {% if condition -%}
        case when {{ condition }} then {{ r }}.__pit_f{{ loop.index }} end
        {%- else -%}
        {{ r }}.__pit_f{{ loop.index }}
        {%- endif %} as {{ adapter.quote(f.output) }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
