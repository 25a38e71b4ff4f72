{#- The hash tiebreak: over every feature of the view (not only the requested
    ones, so that any selection picks the same row) and valid_to. -#}
{% macro _pit_tiebreak(v) -%}
    {%- set columns = [] -%}
    {%- for f in v.all_features -%}{%- do columns.append(adapter.quote(f)) -%}{%- endfor -%}
    {%- if v.is_range -%}{%- do columns.append(adapter.quote(v.valid_to)) -%}{%- endif -%}
    {%- if not columns -%}{%- do columns.append(adapter.quote(v.timestamp)) -%}{%- endif -%}
    {{ pitstop._pit_row_hash(columns) }}
{%- endmacro %}
