{#-
    Private helper of the frames and buckets forms: their opening, `with`
    and the `_win_events` (`_windows_events`) and `_win_points`
    (`_windows_points`) CTEs, each followed by a comma.
-#}
{% macro _windows_head(events, keys, event_timestamp, spec, spine, spine_timestamp, spine_keys) -%}
    {%- set key_cols = pitstop._scd2_quoted(keys) -%}
    {%- set ts = adapter.quote(event_timestamp) -%}
with

{{ pitstop._windows_events(key_cols, events, ts, spec) }},

{{ pitstop._windows_points(key_cols, events, ts, spine, spine_keys, spine_timestamp) }},
{%- endmacro %}
