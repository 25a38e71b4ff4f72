{#-
    Private helper of window_aggregates: the `_win_events` CTE of the frames
    and buckets forms, one row per event with a non-NULL key and timestamp:
    its keys, `_win_t` (microseconds since the epoch), `_win_at` NULL (not a
    point), `_win_event` 1 (counted by `count`), the value columns as
    `_win_v<i>` and `_win_is_point` false.
-#}
{% macro _windows_events(key_cols, events, ts, spec) -%}
    {%- set q = adapter.quote -%}
_win_events as (

    select
        {% for k in key_cols -%}
        {{ k }},
        {% endfor -%}
        {{ pitstop._windows_epoch_us(ts) }} as _win_t,
        null as _win_at,
        1 as _win_event,
        {% for c in spec.value_columns -%}
        {{ q(c) }} as _win_v{{ loop.index }},
        {% endfor -%}
        false as _win_is_point
    from {{ events }}
    where {% for k in key_cols %}{{ k }} is not null and {% endfor %}{{ ts }} is not null

)
{%- endmacro %}
