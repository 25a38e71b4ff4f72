{#- When a view row becomes usable at spine time t: its timestamp, or with the
    late-row filter the later of its timestamp and its created timestamp. -#}
{% macro _pit_available_at(v) -%}
    {%- if v.late_filter -%}
        case when __pit_created > __pit_ts then __pit_created else __pit_ts end
    {%- else -%}
        __pit_ts
    {%- endif -%}
{%- endmacro %}
