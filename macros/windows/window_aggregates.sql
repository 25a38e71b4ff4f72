{#-
    Time-window aggregates per entity, exact as of each point in time.

    With a `spine` (a relation or CTE name with the entity keys and a
    timestamp): every spine row, with all its columns, plus one column per
    aggregate and window, `<name>_<window>` (e.g. amount_sum_24h), computed
    over the events of the same entity with `t - w < event_timestamp <= t`
    where t is the spine row's timestamp: an event exactly at t counts, an
    event exactly at t - w does not. Spine rows with a NULL key or timestamp
    get NULL aggregates; otherwise counts are 0 and other aggregates NULL for
    an empty window. Duplicate spine rows all get the same values.

    Without a spine (per-event form, for online views): one row per entity
    and distinct event timestamp, the keys, `as_of` (that timestamp: the
    values hold as of it, so now - as_of is the staleness of a value served
    later) and the aggregates as of that instant (the event itself included).

    Functions: count (events, or non-NULL values of a column), sum, avg, min,
    max, count_distinct; NULL values are ignored.

    method: none (DuckDB: 'frames'; Spark: 'buckets'; elsewhere 'join'),
    'frames' (window functions with RANGE frames over one sorted stream;
    DuckDB: O(n log n) whatever the density of events; Spark: re-aggregates
    each sliding frame, O(n x events per window) per entity but streaming),
    'buckets' (Spark only: time cut into buckets of each window's length,
    a window = a running prefix of the point's bucket + a running suffix of
    the bucket before it, joined back by (keys, time); running frames only,
    O(n log n) per entity whatever its density) or 'join' (range join of
    points with the events in the widest window, then conditional
    aggregation: faster when an entity has few events per window, quadratic
    in rows for dense entities). Windows are durations
    ('1h', '24h', '7d', '30d', '90m', '1d12h'); timestamps are compared at
    microsecond precision.
-#}
{% macro window_aggregates(
    events,
    keys,
    event_timestamp,
    windows,
    aggregates,
    spine=none,
    spine_timestamp=none,
    spine_keys=none,
    as_of='as_of_at',
    method=none
) %}
    {%- set name = 'window_aggregates' -%}
    {%- if events is none or (events is string and events | trim == '') -%}
        {{ exceptions.raise_compiler_error(name ~ ": `events` must be a relation or a CTE name") }}
    {%- endif -%}
    {%- set keys = pitstop._scd2_column_list(keys, name, 'keys') -%}
    {%- if event_timestamp is not string or event_timestamp | trim == '' -%}
        {{ exceptions.raise_compiler_error(name ~ ": `event_timestamp` must be a column name") }}
    {%- endif -%}
    {%- set spec = pitstop._windows_parse(windows, aggregates, name) -%}
    {%- if spine is not none -%}
        {%- set spine_keys = pitstop._scd2_column_list(
            spine_keys if spine_keys is not none else keys, name, 'spine_keys') -%}
        {%- if spine_keys | length != keys | length -%}
            {{ exceptions.raise_compiler_error(name ~ ": `spine_keys` must name one spine column "
                ~ "per key in `keys` (" ~ keys | join(', ') ~ ")") }}
        {%- endif -%}
        {%- if spine_timestamp is none -%}
            {%- set spine_timestamp = event_timestamp -%}
        {%- endif -%}
    {%- elif spine_keys is not none or spine_timestamp is not none -%}
        {{ exceptions.raise_compiler_error(name ~ ": `spine_keys` and `spine_timestamp` need "
            ~ "a `spine`") }}
    {%- endif -%}
    {%- if method not in (none, 'frames', 'join', 'buckets') -%}
        {{ exceptions.raise_compiler_error(name ~ ": `method` must be 'frames', 'join', "
            ~ "'buckets' or none (the adapter's best), got '" ~ method ~ "'") }}
    {%- endif -%}
    {%- if method == 'join' -%}
        {{ return(pitstop.default__window_aggregates(
            events, keys, event_timestamp, spec, spine, spine_timestamp, spine_keys, as_of)) }}
    {%- endif -%}
    {%- if method == 'frames' and adapter.type() not in ('duckdb', 'spark') -%}
        {{ exceptions.raise_compiler_error(name ~ ": method 'frames' is implemented for "
            ~ "DuckDB and Spark only (adapter '" ~ adapter.type() ~ "'); use method='join'") }}
    {%- endif -%}
    {%- if method == 'frames' -%}
        {{ return(pitstop._windows_frames(
            events, keys, event_timestamp, spec, spine, spine_timestamp, spine_keys, as_of)) }}
    {%- endif -%}
    {%- if method == 'buckets' -%}
        {{ return(pitstop._windows_buckets(
            events, keys, event_timestamp, spec, spine, spine_timestamp, spine_keys, as_of)) }}
    {%- endif -%}
    {{ return(adapter.dispatch('window_aggregates', 'pitstop')(
        events, keys, event_timestamp, spec, spine, spine_timestamp, spine_keys, as_of)) }}
{% endmacro %}


{#-
    The adapter's default form. DuckDB: the frames form, `_windows_frames`
    (segment trees, O(n log n)). Spark: the buckets form, `_windows_buckets`
    (running frames only; Spark re-aggregates sliding frames as they move).
-#}
{% macro duckdb__window_aggregates(
    events, keys, event_timestamp, spec, spine, spine_timestamp, spine_keys, as_of
) %}
    {{ return(pitstop._windows_frames(
        events, keys, event_timestamp, spec, spine, spine_timestamp, spine_keys, as_of)) }}
{% endmacro %}


{% macro spark__window_aggregates(
    events, keys, event_timestamp, spec, spine, spine_timestamp, spine_keys, as_of
) %}
    {{ return(pitstop._windows_buckets(
        events, keys, event_timestamp, spec, spine, spine_timestamp, spine_keys, as_of)) }}
{% endmacro %}


{#-
    Portable form: a range join of each distinct point with the events of its
    entity in (t - w_max, t], then conditional aggregation per window. Exact,
    but its intermediate result grows with events per window; DuckDB uses
    the frames form (`_windows_frames`) and Spark the buckets form
    (`_windows_buckets`) unless method='join'.
-#}
{% macro default__window_aggregates(
    events, keys, event_timestamp, spec, spine, spine_timestamp, spine_keys, as_of
) %}
    {%- set q = adapter.quote -%}
    {%- set key_cols = pitstop._scd2_quoted(keys) -%}
    {%- set ts = q(event_timestamp) -%}
    {%- set max_seconds = spec.windows | map(attribute='seconds') | max -%}
with

_win_events as (

    select
        {% for k in key_cols -%}
        {{ k }},
        {% endfor -%}
        {% for c in spec.value_columns -%}
        {{ q(c) }} as _win_v{{ loop.index }},
        {% endfor -%}
        {{ ts }} as _win_ts
    from {{ events }}
    where {% for k in key_cols %}{{ k }} is not null and {% endfor %}{{ ts }} is not null

),

{{ pitstop._windows_points(key_cols, '_win_events', '_win_ts', spine, spine_keys,
    spine_timestamp) }},

_win_joined as (

    select
        {% for k in key_cols -%}
        p.{{ k }},
        {% endfor -%}
        p._win_at,
        {% for c in spec.value_columns -%}
        e._win_v{{ loop.index }},
        {% endfor -%}
        e._win_ts
    from _win_points as p
    inner join _win_events as e
        on {% for k in key_cols %}p.{{ k }} = e.{{ k }} and {% endfor -%}
        e._win_ts <= p._win_at
        and e._win_ts > {{ dbt.dateadd('second', -max_seconds, 'p._win_at') }}

),

_win_grouped as (

    select
        {% for k in key_cols -%}
        {{ k }},
        {% endfor -%}
        _win_at,
        {% for w in spec.windows -%}
        {%- set outer = loop -%}
        {%- set inside = '_win_ts > ' ~ dbt.dateadd('second', -w.seconds, '_win_at') -%}
        {% for a in spec.aggregates -%}
        {%- set value = none if a.column is none else 'case when ' ~ inside ~ ' then _win_v'
            ~ (spec.value_columns.index(a.column) + 1) ~ ' end' -%}
        {{ pitstop._windows_aggregate_sql(
            a.function, value, 'case when ' ~ inside ~ ' then 1 end') }}
            as {{ q(a.name ~ '_' ~ w.label) }},
        {% endfor -%}
        {% endfor -%}
        count(*) as _win_n
    from _win_joined
    group by {% for k in key_cols %}{{ k }}, {% endfor %}_win_at

),

_win_results as (

    select
        {% for k in key_cols -%}
        p.{{ k }},
        {% endfor -%}
        p._win_at,
        {% for w in spec.windows -%}
        {%- set outer = loop -%}
        {% for a in spec.aggregates -%}
        {%- set column = q(a.name ~ '_' ~ w.label) -%}
        {% if a.function in ('count', 'count_distinct') -%}
        coalesce(g.{{ column }}, 0) as {{ column }}
        {%- else -%}
        g.{{ column }}
        {%- endif %}{{ ',' if not (outer.last and loop.last) }}
        {% endfor -%}
        {% endfor -%}
    from _win_points as p
    left join _win_grouped as g
        on {% for k in key_cols %}p.{{ k }} = g.{{ k }} and {% endfor %}p._win_at = g._win_at

),

{{ pitstop._windows_final(key_cols, spec, spine, spine_keys, spine_timestamp, as_of) }}
{% endmacro %}
