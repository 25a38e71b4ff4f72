{#- The columns of a view's rows CTE: keys, timestamps, features, renamed to
    `__pit_k<i>`, `__pit_ts`, `__pit_created`, `__pit_valid_to`, `__pit_f<i>`. -#}
{% macro _pit_view_columns(v) -%}
    {%- set columns = [] -%}
    {%- for k in v['keys'] -%}
        {%- do columns.append(adapter.quote(k.view) ~ ' as __pit_k' ~ loop.index) -%}
    {%- endfor -%}
    {%- do columns.append('cast(' ~ adapter.quote(v.timestamp) ~ ' as '
        ~ dbt.type_timestamp() ~ ') as __pit_ts') -%}
    {%- if v.created_timestamp -%}
        {%- do columns.append('cast(' ~ adapter.quote(v.created_timestamp) ~ ' as '
            ~ dbt.type_timestamp() ~ ') as __pit_created') -%}
    {%- endif -%}
    {%- if v.is_range -%}
        {%- do columns.append('cast(' ~ adapter.quote(v.valid_to) ~ ' as '
            ~ dbt.type_timestamp() ~ ') as __pit_valid_to') -%}
    {%- endif -%}
    {%- for f in v.features -%}
        {%- do columns.append(adapter.quote(f.column) ~ ' as __pit_f' ~ loop.index) -%}
    {%- endfor -%}
    {%- do columns.append(pitstop._pit_tiebreak(v) ~ ' as __pit_hash') -%}
    {{ columns | join(',\n') }}
{%- endmacro %}
