{#-
    Buckets form (Spark's default): every window from running frames only,
    which Spark evaluates incrementally (one pass per sorted partition),
    where it re-aggregates a sliding RANGE frame each time the frame moves.

    For a window of W microseconds, time is cut into buckets of W, bucket(t)
    = floor(t / W) in exact integer arithmetic (no double division: a time
    1 microsecond before a boundary stays in the bucket before it). For a
    point t in bucket b, (t - W, t] is
      - the part of bucket b up to t, inclusive: a running aggregate
        (prefix) over (keys, b) in ascending time, events before points at
        equal times, read at the point's row;
      - the part of bucket b - 1 strictly after t - W: a running aggregate
        (suffix) over (keys, b - 1) in descending time, read at a marker row
        placed at t - W, markers before events at equal times.
    The marker rows carry their point's (keys, `_win_at`), so both halves
    meet in one group by (keys, `_win_at`), an equi-grouping (no range join),
    and combine: counts and sums add (a sum of nothing stays NULL), min/max
    by least/greatest (which skip NULLs), avg = sum / count of the combined
    halves, distinct counts = size(array_union) of the halves' collect_sets.

    Cost: per window two sorts of the stream (events + points + one marker
    per point and window) partitioned by (keys, bucket), then linear running
    aggregates: O(n log n) per entity whatever its density, and a hot
    entity's rows spread over its buckets' partitions. A distinct count
    copies its running set at each row (O(distinct values per window)).
    Spark only (pmod, div, collect_set, array_union).
    https://spark.apache.org/docs/latest/sql-ref-syntax-qry-select-window.html
-#}
{% macro _windows_buckets(
    events, keys, event_timestamp, spec, spine, spine_timestamp, spine_keys, as_of
) %}
    {%- set name = 'window_aggregates' -%}
    {%- if adapter.type() != 'spark' -%}
        {{ exceptions.raise_compiler_error(name ~ ": method 'buckets' is implemented for "
            ~ "Spark only (adapter '" ~ adapter.type() ~ "'); use method='frames' or 'join'") }}
    {%- endif -%}
    {%- set q = adapter.quote -%}
    {%- set key_cols = pitstop._scd2_quoted(keys) -%}
    {%- set key_list = key_cols | join(', ') -%}
{{ pitstop._windows_head(events, keys, event_timestamp, spec, spine, spine_timestamp, spine_keys) }}

_win_point_times as (

    select
        {{ key_list }},
        _win_at,
        {{ pitstop._windows_epoch_us('_win_at') }} as _win_t
    from _win_points

),

{#- _win_role: 0 an event, 1 a point (reads the prefixes), 1 + i the marker
    of window i at t - W_i (reads window i's suffix) -#}
_win_stream as (

    select
        {{ key_list }},
        null as _win_at,
        _win_t,
        0 as _win_role,
        {% for c in spec.value_columns -%}
        _win_v{{ loop.index }},
        {% endfor -%}
        _win_event
    from _win_events
    {% for shift in [0] + spec.windows | map(attribute='seconds') | list -%}
    union all
    select
        {{ key_list }},
        _win_at,
        _win_t - {{ shift * 1000000 }} as _win_t,
        {{ loop.index }} as _win_role,
        {% for c in spec.value_columns -%}
        null as _win_v{{ loop.index }},
        {% endfor -%}
        null as _win_event
    from _win_point_times
    {% endfor %}

),

{#- per window i: its events, points and markers in buckets of W_i (a
    marker at t - W_i falls in the bucket before its point's), the prefix
    (p) and suffix (s) halves read at the points and markers; every other
    window's halves NULL, so that all windows stack into one group by -#}
{% for w in spec.windows -%}
{%- set i = loop.index -%}
_win_halves{{ i }} as (

    select
        {{ key_list }},
        _win_at,
        _win_role,
        {% for v in spec.windows -%}
        {%- set vi = loop.index -%}
        {% for a in spec.aggregates -%}
        {%- set j = loop.index -%}
        {% for part in pitstop._windows_bucket_parts(a, spec) -%}
        {% for side in ('p', 's') -%}
        {% if vi == i -%}
        {{ part.sql | replace('@over', '_win_' ~ side) }}
        {%- else -%}
        null
        {%- endif %} as _win_{{ side }}{{ vi }}_{{ j }}_{{ part.name }},
        {% endfor -%}
        {% endfor -%}
        {% endfor -%}
        {% endfor -%}
        _win_b
    from (
        select
            *,
            {{ pitstop._windows_bucket('_win_t', w.seconds * 1000000) }} as _win_b
        from _win_stream
        where _win_role in (0, 1, {{ 1 + i }})
    ) as _win_bucketed
    window
        _win_p as (
            partition by {{ key_list }}, _win_b
            order by _win_t, _win_role
            rows between unbounded preceding and current row
        ),
        _win_s as (
            partition by {{ key_list }}, _win_b
            order by _win_t desc, _win_role desc
            rows between unbounded preceding and current row
        )
    qualify _win_role > 0

),

{% endfor -%}
_win_sides as (

    select
        {{ key_list }},
        {% for w in spec.windows -%}
        {%- set i = loop.index -%}
        {% for a in spec.aggregates -%}
        {%- set j = loop.index -%}
        {% for part in pitstop._windows_bucket_parts(a, spec) -%}
        first(case when _win_role = 1 then _win_p{{ i }}_{{ j }}_{{ part.name }} end, true)
            as _win_p{{ i }}_{{ j }}_{{ part.name }},
        first(case when _win_role = {{ 1 + i }} then _win_s{{ i }}_{{ j }}_{{ part.name }} end, true)
            as _win_s{{ i }}_{{ j }}_{{ part.name }},
        {% endfor -%}
        {% endfor -%}
        {% endfor -%}
        _win_at
    from (
        {% for w in spec.windows -%}
        select * from _win_halves{{ loop.index }}
        {% if not loop.last %}union all
        {% endif -%}
        {% endfor -%}
    ) as _win_stacked
    group by {{ key_list }}, _win_at

),

_win_results as (

    select
        {{ key_list }},
        _win_at,
        {% for w in spec.windows -%}
        {%- set outer = loop -%}
        {%- set i = loop.index -%}
        {% for a in spec.aggregates -%}
        {%- set j = loop.index -%}
        {{ pitstop._windows_bucket_combine(a.function,
            '_win_p' ~ i ~ '_' ~ j ~ '_', '_win_s' ~ i ~ '_' ~ j ~ '_') }}
            as {{ q(a.name ~ '_' ~ w.label) }}
        {{- ',' if not (outer.last and loop.last) }}
        {% endfor -%}
        {% endfor -%}
    from _win_sides

),

{{ pitstop._windows_final(key_cols, spec, spine, spine_keys, spine_timestamp, as_of) }}
{% endmacro %}

