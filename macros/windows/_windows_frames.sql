{#-
    Frames form (DuckDB, Spark): events and the distinct spine points go
    through one stream per entity, ordered by the event time in microseconds
    since the epoch, and each aggregate is a window function with a RANGE
    frame over it: `(w - 1) preceding and current row` is exactly (t - w, t],
    peers at t included, so an event at t counts and one at t - w does not.
    Only the points' rows are kept (`qualify`). Events carry a NULL `_win_at`
    and points NULL values, so a point never counts itself.

    Cost: one sort per entity shared by every window. DuckDB evaluates the
    frames with segment trees (DISTINCT included): O(n log n). Spark has no
    DISTINCT window aggregates (collect_set instead) and re-aggregates a
    sliding frame each time it moves: O(n x events per window) CPU per
    entity, but in memory and streaming, without the join form's
    materialized (point, event) pairs, its shuffle and its group-by.
    https://duckdb.org/docs/stable/sql/functions/window_functions#framing
    https://spark.apache.org/docs/latest/sql-ref-syntax-qry-select-window.html
-#}
{% macro _windows_frames(
    events, keys, event_timestamp, spec, spine, spine_timestamp, spine_keys, as_of
) %}
    {%- set q = adapter.quote -%}
    {%- set key_cols = pitstop._scd2_quoted(keys) -%}
    {%- set key_list = key_cols | join(', ') -%}
{{ pitstop._windows_head(events, keys, event_timestamp, spec, spine, spine_timestamp, spine_keys) }}

_win_stream as (

    select * from _win_events
    union all
    select
        {% for k in key_cols -%}
        {{ k }},
        {% endfor -%}
        {{ pitstop._windows_epoch_us('_win_at') }} as _win_t,
        _win_at,
        null as _win_event,
        {% for c in spec.value_columns -%}
        null as _win_v{{ loop.index }},
        {% endfor -%}
        true as _win_is_point
    from _win_points

),

_win_results as (

    select
        {% for k in key_cols -%}
        {{ k }},
        {% endfor -%}
        _win_at,
        {% for w in spec.windows -%}
        {%- set outer = loop -%}
        {% for a in spec.aggregates -%}
        {%- set value = none if a.column is none
            else '_win_v' ~ (spec.value_columns.index(a.column) + 1) -%}
        {{ pitstop._windows_aggregate_sql(
            a.function, value, '_win_event', over='_win_w' ~ outer.index) }}
            as {{ q(a.name ~ '_' ~ w.label) }}
        {{- ',' if not (outer.last and loop.last) }}
        {% endfor -%}
        {% endfor -%}
    from _win_stream
    window
        {% for w in spec.windows -%}
        _win_w{{ loop.index }} as (
            partition by {{ key_list }}
            order by _win_t
            range between {{ w.seconds * 1000000 - 1 }} preceding and current row
        ){{ ',' if not loop.last }}
        {% endfor -%}
    qualify _win_is_point

),

{{ pitstop._windows_final(key_cols, spec, spine, spine_keys, spine_timestamp, as_of) }}
{% endmacro %}
