{#-
    Validity intervals of a feature view's values (what Tecton calls
    get_features_in_range): one row per entity and run of identical feature
    values, with `valid_from` (inclusive) and `valid_to` (exclusive; NULL when
    the value is still served and no `end` was given), so that one can see
    which value a point-in-time join (exclude_late_rows off) or an online
    lookup served at any time.

    - rows tied on (key, ts) resolve by the tie order every entry point uses
      (`_pit_tiebreak`: latest created timestamp, NULL oldest, then a hash of
      ALL the view's features and valid_to, whatever `features` selects);
    - event views: the winner at ts is served from ts until the entity's
      next timestamp; with a TTL, at most through ts + ttl inclusive, so
      valid_to is at most ts + ttl + 1 microsecond (the PIT rule
      `ts >= t - ttl`);
    - scd2 and snapshot views: the winner at ts is served from ts until the
      earlier of its own valid_to and the entity's next timestamp, which for
      a well-formed history (no overlaps) is the view's own interval;
    - consecutive contiguous intervals with identical values merge; gaps
      (expired TTL, before the first row, deletes) are absent: NULL was served.

    view: a feature view name or ref('view').
    entities: none (all) or a relation / CTE name holding the view's key columns.
    start, end: none or SQL expressions of timestamps; rows are clipped to
        [start, end) and only intervals overlapping it are returned.
    features: none (all) or a subset of the view's feature names.
-#}
{% macro feature_history(view, entities=none, start=none, end=none, features=none) %}
    {%- set name = 'feature_history' -%}
    {%- if not execute -%}
        {%- if view is string and view | trim != '' -%}{%- do ref(view) -%}{%- endif -%}
        {{ return('select 1 as pitstop_parsing') }}
    {%- endif -%}
    {%- if view is none or (view is string and view | trim == '') -%}
        {{ exceptions.raise_compiler_error(name
            ~ ": `view` must be a feature view name or ref()") }}
    {%- endif -%}
    {%- set fv = pitstop._feature_view(view, name) -%}
    {%- if features is none -%}
        {%- set selected = fv.features -%}
    {%- else -%}
        {%- set selected = pitstop._scd2_column_list(features, name, 'features') -%}
        {%- for f in selected if f not in fv.features -%}
            {{ exceptions.raise_compiler_error(name ~ ": `features` names '" ~ f ~ "', which is "
                ~ "not a feature of view '" ~ fv.name ~ "' (features: "
                ~ fv.features | join(', ') ~ ")") }}
        {%- endfor -%}
    {%- endif -%}
    {%- for f in selected if f in ('valid_from', 'valid_to') -%}
        {{ exceptions.raise_compiler_error(name ~ ": feature '" ~ f ~ "' of view '" ~ fv.name
            ~ "' collides with an output column") }}
    {%- endfor -%}
    {{ return(adapter.dispatch('feature_history', 'pitstop')(fv, selected, entities, start, end)) }}
{% endmacro %}


{% macro default__feature_history(fv, features, entities, start, end) %}
    {%- set q = adapter.quote -%}
    {%- set key_cols = pitstop._scd2_quoted(fv.key_columns) -%}
    {%- set feature_cols = pitstop._scd2_quoted(features) -%}
    {%- set ts = q(fv.timestamp) -%}
    {%- set is_range = fv.kind in ('scd2', 'snapshot') -%}
    {%- set key_list = key_cols | join(', ') -%}
with

_hist_rows as (

    select
        {% for k in key_cols -%}
        v.{{ k }},
        {% endfor -%}
        {% for f in feature_cols -%}
        v.{{ f }},
        {% endfor -%}
        v.{{ ts }} as _hist_from,
        {% if is_range -%}
        v.{{ q(fv.valid_to) }} as _hist_until,
        {% endif -%}
        {{ ('v.' ~ q(fv.created_timestamp)) if fv.created_timestamp else 'null' }} as _hist_created,
        {#- the tie order: over ALL features, not only the selected ones #}
        {{ pitstop._pit_tiebreak(fv) }} as _hist_tiebreak,
        {#- run detection: only the selected values matter #}
        {{ pitstop._scd2_state_hash(feature_cols) }} as _hist_hash
    from {{ fv.relation }} as v
    {% if entities is not none -%}
    inner join (select distinct {{ key_list }} from {{ entities }}) as e
        on {% for k in key_cols %}v.{{ k }} = e.{{ k }}{{ ' and ' if not loop.last }}{% endfor %}
    {% endif -%}
    where {% for k in key_cols %}v.{{ k }} is not null and {% endfor %}v.{{ ts }} is not null
    {%- if end is not none %}
        and v.{{ ts }} < {{ end }}
    {%- endif %}

),

_hist_winners as (

    select * from (
        select
            *,
            row_number() over (
                partition by {{ key_list }}, _hist_from
                order by _hist_created desc nulls last, _hist_tiebreak desc
            ) as _hist_rank
        from _hist_rows
    ) as ranked
    where _hist_rank = 1

),

_hist_intervals as (

    select
        *,
        {%- set next_from -%}
        lead(_hist_from) over (partition by {{ key_list }} order by _hist_from)
        {%- endset %}
        {% if is_range -%}
        {#- served until its validity ends or a later row takes over #}
        case
            when {{ next_from }} is null then _hist_until
            when _hist_until is null or _hist_until > {{ next_from }} then {{ next_from }}
            else _hist_until
        end as _hist_to
        {%- elif fv.ttl_seconds is not none -%}
        {%- set expiry = dbt.dateadd('microsecond', 1,
            dbt.dateadd('second', fv.ttl_seconds, '_hist_from')) -%}
        case
            when {{ next_from }} is null or {{ next_from }} > {{ expiry }} then {{ expiry }}
            else {{ next_from }}
        end as _hist_to
        {%- else -%}
        {{ next_from }} as _hist_to
        {%- endif %}
    from _hist_winners

),

{#- islands: a new run starts when the values change or the previous interval
    ended before this one starts #}
_hist_marked as (

    select
        *,
        case
            when lag(_hist_hash) over _hist_w = _hist_hash
                and lag(_hist_to) over _hist_w = _hist_from then 0
            else 1
        end as _hist_is_start
    from _hist_intervals
    {#- a range row that ends where (or before) it starts was never served #}
    where _hist_to is null or _hist_to > _hist_from
    window _hist_w as (partition by {{ key_list }} order by _hist_from)

),

_hist_runs as (

    select
        *,
        sum(_hist_is_start) over (
            partition by {{ key_list }} order by _hist_from rows unbounded preceding
        ) as _hist_run
    from _hist_marked

),

_hist_merged as (

    select
        {% for k in key_cols -%}
        {{ k }},
        {% endfor -%}
        _hist_run,
        min(_hist_from) as _hist_from,
        max(_hist_to) as _hist_max_to,
        {#- only an entity's last interval can be open (NULL end) -#}
        count(*) - count(_hist_to) as _hist_open_count
    from _hist_runs
    group by {{ key_list }}, _hist_run

),

_hist_values as (

    select
        m.*,
        {% for f in feature_cols -%}
        r.{{ f }}{{ ',' if not loop.last }}
        {% endfor -%}
    from _hist_merged as m
    inner join _hist_runs as r
        on {% for k in key_cols %}m.{{ k }} = r.{{ k }} and {% endfor -%}
        m._hist_run = r._hist_run and m._hist_from = r._hist_from

),

final as (

    select
        {% for k in key_cols -%}
        {{ k }},
        {% endfor -%}
        {% for f in feature_cols -%}
        {{ f }},
        {% endfor -%}
        {% if start is not none -%}
        case when _hist_from < {{ start }} then {{ start }} else _hist_from end as valid_from,
        {%- else -%}
        _hist_from as valid_from,
        {%- endif %}
        {% if end is not none -%}
        case
            when _hist_open_count > 0 or _hist_max_to > {{ end }} then {{ end }}
            else _hist_max_to
        end as valid_to
        {%- else -%}
        case when _hist_open_count > 0 then null else _hist_max_to end as valid_to
        {%- endif %}
    from _hist_values
    where true
        {%- if start is not none %}
        and (_hist_open_count > 0 or _hist_max_to > {{ start }})
        {%- endif %}
        {%- if end is not none %}
        and _hist_from < {{ end }}
        {%- endif %}

)

select * from final
{% endmacro %}
