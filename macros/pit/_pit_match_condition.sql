{#- The condition under which the matched row `r` of view v counts at spine
    time `t` (TTL for events, validity for ranges), or none when it always does. -#}
{% macro _pit_match_condition(v, r, t) -%}
    {%- if v.is_range -%}
        ({{ r }}.__pit_valid_to is null or {{ t }} < {{ r }}.__pit_valid_to)
    {%- elif v.ttl_seconds is not none -%}
        {{ r }}.__pit_ts >= {{ dbt.dateadd('second', -1 * v.ttl_seconds, t) | trim }}
    {%- endif -%}
{%- endmacro %}
