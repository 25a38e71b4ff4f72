{#-
    Private helper of window_aggregates: the `_win_points` CTE shared by both
    forms, the distinct (keys, `_win_at`) points the aggregates are computed
    as of. With a spine, its keys (renamed to the event keys `key_cols`) and
    timestamp; without one, every distinct (keys, timestamp) of the events,
    read from `events` (a relation or CTE name) with timestamp expression
    `event_ts`. Points with a NULL key or timestamp are left out.
-#}
{% macro _windows_points(key_cols, events, event_ts, spine, spine_keys, spine_timestamp) -%}
    {%- set q = adapter.quote -%}
_win_points as (

    select distinct
        {% if spine is not none -%}
        {% for k in spine_keys -%}
        {{ q(k) }} as {{ key_cols[loop.index0] }},
        {% endfor -%}
        {{ q(spine_timestamp) }} as _win_at
    from {{ spine }}
    where {% for k in spine_keys %}{{ q(k) }} is not null and {% endfor -%}
        {{ q(spine_timestamp) }} is not null
        {%- else -%}
        {% for k in key_cols -%}
        {{ k }},
        {% endfor -%}
        {{ event_ts }} as _win_at
    from {{ events }}
    where {% for k in key_cols %}{{ k }} is not null and {% endfor %}{{ event_ts }} is not null
        {%- endif %}

)
{%- endmacro %}
