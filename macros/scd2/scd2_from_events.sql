{#-
    Type-2 history from a change log (CDC, audit or event table).

    Each source row is the full state of one entity (`keys`) as of
    `updated_at`. The output holds one row per validity interval:
    the `columns`, `valid_from` (inclusive), `valid_to` (exclusive, NULL for
    the current version), `is_current` and `change_hash` (md5 of the state).
    Rules, identical in full and incremental builds:
      - rows with a NULL key or a NULL `updated_at` are ignored;
      - several rows at the same (key, updated_at) are a tie: the row with the
        greatest `tiebreak` values wins (each compared in turn, NULL lowest),
        then the greatest state (the delete flag, true first, then `columns`
        in order, NULL lowest), then the latest `loaded_at`, so the choice
        never depends on row order;
      - consecutive identical states (compared column by column, NULL equal to
        NULL) collapse into one interval;
      - a delete (`delete_flag` true) ends the interval; a later row opens a
        new one. With keep_deletes=true the deleted period is kept as its own
        interval (a tombstone: flag true, columns NULL) instead of a gap;
      - intervals of one key never overlap: valid_to is the next state's
        valid_from.
    Incremental: see the README (section history). The model is incremental
    with `unique_key` = the keys, strategy delete+insert and keep_deletes=true;
    each run reads the rows with `loaded_at` at or above the target's max
    (minus `lookback`) and rewrites the full history of the keys they touch,
    recomputing from the latest interval that starts before the earliest new
    change (earlier intervals are copied from the target unchanged).
-#}
{% macro scd2_from_events(
    source,
    keys,
    updated_at,
    columns,
    delete_flag=none,
    tiebreak=[],
    loaded_at=none,
    keep_deletes=false,
    lookback=none,
    incremental_target=none,
    valid_from='valid_from',
    valid_to='valid_to',
    is_current='is_current',
    change_hash='change_hash'
) %}
    {%- set name = 'scd2_from_events' -%}
    {%- if source is none or (source is string and source | trim == '') -%}
        {{ exceptions.raise_compiler_error(name ~ ": `source` must be a relation or a CTE name") }}
    {%- endif -%}
    {%- set keys = pitstop._scd2_column_list(keys, name, 'keys') -%}
    {%- set columns = pitstop._scd2_column_list(columns, name, 'columns', allow_empty=true) -%}
    {%- set tiebreak = pitstop._scd2_column_list(tiebreak, name, 'tiebreak', allow_empty=true) -%}
    {%- if updated_at is not string or updated_at | trim == '' -%}
        {{ exceptions.raise_compiler_error(name ~ ": `updated_at` must be a column name") }}
    {%- endif -%}
    {%- if keep_deletes and delete_flag is none -%}
        {{ exceptions.raise_compiler_error(name ~ ": `keep_deletes` needs `delete_flag`") }}
    {%- endif -%}
    {%- for column in columns if column in keys or column == updated_at -%}
        {{ exceptions.raise_compiler_error(name ~ ": `columns` must not repeat a key or "
            ~ "`updated_at`: " ~ column) }}
    {%- endfor -%}
    {%- set outputs = [valid_from, valid_to, is_current, change_hash] -%}
    {%- for column in keys + columns if column in outputs -%}
        {{ exceptions.raise_compiler_error(name ~ ": column '" ~ column ~ "' collides with an "
            ~ "output column; rename it with valid_from/valid_to/is_current/change_hash") }}
    {%- endfor -%}
    {%- if incremental_target is not none -%}
        {%- set target_relation = incremental_target -%}
    {%- elif is_incremental() -%}
        {%- set target_relation = this -%}
    {%- else -%}
        {%- set target_relation = none -%}
    {%- endif -%}
    {%- if target_relation is not none and loaded_at is none -%}
        {{ exceptions.raise_compiler_error(name ~ ": an incremental build needs `loaded_at`, "
            ~ "the column that says when a row arrived") }}
    {%- endif -%}
    {#- delete+insert removes a key's old rows only when the batch holds the key:
        with tombstones every touched key has at least one row -#}
    {%- if target_relation is not none and not keep_deletes -%}
        {{ exceptions.raise_compiler_error(name ~ ": an incremental build needs "
            ~ "keep_deletes=true (and `delete_flag`), so that a key whose every state a late "
            ~ "delete removes still reaches the table; filter `not <delete_flag>` downstream") }}
    {%- endif -%}
    {%- set lookback_seconds = pitstop._ttl_seconds(lookback, name, field='lookback') -%}
    {{ return(adapter.dispatch('scd2_from_events', 'pitstop')(
        source, keys, updated_at, columns, delete_flag, tiebreak, loaded_at, keep_deletes,
        lookback_seconds, target_relation, valid_from, valid_to, is_current, change_hash)) }}
{% endmacro %}


{% macro default__scd2_from_events(
    source, keys, updated_at, columns, delete_flag, tiebreak, loaded_at, keep_deletes,
    lookback_seconds, target_relation, valid_from, valid_to, is_current, change_hash
) %}
    {%- set q = adapter.quote -%}
    {%- set key_cols = pitstop._scd2_quoted(keys) -%}
    {%- set state_cols = pitstop._scd2_quoted(columns) -%}
    {%- set at = q(updated_at) -%}
    {%- set flag = q(delete_flag) if delete_flag is not none else none -%}
    {%- set deleted = 'coalesce(' ~ flag ~ ', false)' if flag else 'false' -%}
    {%- set out_cols = key_cols + state_cols + ([flag] if keep_deletes else [])
        + [q(valid_from), q(valid_to), q(is_current), q(change_hash)]
        + ([q(loaded_at)] if loaded_at is not none else []) -%}
    {%- set key_join -%}
        {%- for k in key_cols -%}
        {{ 's.' ~ k }} = {{ 'a.' ~ k }}{{ ' and ' if not loop.last }}
        {%- endfor -%}
    {%- endset -%}

with

_scd2_source as (

    select * from {{ source }}

),

{% if target_relation is not none -%}
{#- incremental: only keys with rows that arrived since the last run -#}
_scd2_watermark as (

    select max({{ q(loaded_at) }}) as _scd2_watermark from {{ target_relation }}

),

_scd2_new_keys as (

    select
        {% for k in key_cols -%}
        {{ k }},
        {% endfor -%}
        min({{ at }}) as _scd2_earliest
    from _scd2_source
    where {% for k in key_cols %}{{ k }} is not null and {% endfor %}{{ at }} is not null
        and (
            {{ q(loaded_at) }} is null
            or (select _scd2_watermark from _scd2_watermark) is null
            or {{ q(loaded_at) }} >= {% if lookback_seconds -%}
                {{ dbt.dateadd('second', -lookback_seconds,
                    '(select _scd2_watermark from _scd2_watermark)') }}
            {%- else -%}
                (select _scd2_watermark from _scd2_watermark)
            {%- endif %}
        )
    group by {% for k in key_cols %}{{ k }}{{ ', ' if not loop.last }}{% endfor %}

),

{# recompute each touched key from the latest interval starting before its
   earliest new change: earlier intervals cannot change #}
_scd2_anchors as (

    select
        {% for k in key_cols -%}
        s.{{ k }},
        {% endfor -%}
        max(a.{{ q(valid_from) }}) as _scd2_anchor
    from _scd2_new_keys as s
    left join {{ target_relation }} as a
        on {{ key_join }}
        and a.{{ q(valid_from) }} < s._scd2_earliest
    group by {% for k in key_cols %}s.{{ k }}{{ ', ' if not loop.last }}{% endfor %}

),

_scd2_input as (

    select s.*
    from _scd2_source as s
    inner join _scd2_anchors as a
        on {{ key_join }}
    where a._scd2_anchor is null or s.{{ at }} >= a._scd2_anchor

),

_scd2_kept as (

    select
        {% for c in out_cols -%}
        s.{{ c }}{{ ',' if not loop.last }}
        {% endfor -%}
    from {{ target_relation }} as s
    inner join _scd2_anchors as a
        on {{ key_join }}
    where s.{{ q(valid_from) }} < a._scd2_anchor

),

{% else -%}
_scd2_input as (

    select * from _scd2_source

),

{% endif -%}
_scd2_states as (

    select
        {% for k in key_cols -%}
        {{ k }},
        {% endfor -%}
        {{ at }} as _scd2_at,
        {{ deleted }} as _scd2_deleted,
        {% for c in state_cols -%}
        case when {{ deleted }} then null else {{ c }} end as {{ c }},
        {% endfor -%}
        {% for t in tiebreak -%}
        {{ q(t) }} as _scd2_tiebreak_{{ loop.index }},
        {% endfor -%}
        {{ q(loaded_at) if loaded_at is not none else 'null' }} as _scd2_loaded_at
    from _scd2_input
    where {% for k in key_cols %}{{ k }} is not null and {% endfor %}{{ at }} is not null

),

{# one winner per (key, instant): greatest tiebreak values, then greatest state
   (delete flag, then the columns in order; NULL lowest), then latest loaded_at #}
_scd2_ranked as (

    select
        *,
        row_number() over (
            partition by {% for k in key_cols %}{{ k }}, {% endfor %}_scd2_at
            order by
                {% for t in tiebreak -%}
                _scd2_tiebreak_{{ loop.index }} desc nulls last,
                {% endfor -%}
                _scd2_deleted desc,
                {% for c in state_cols -%}
                {{ c }} desc nulls last,
                {% endfor -%}
                _scd2_loaded_at desc nulls last
        ) as _scd2_rank
    from _scd2_states

),

{# the previous winner's state, compared column by column (exact, NULL-safe) #}
_scd2_changes as (

    select
        *,
        lag(_scd2_at) over _scd2_by_time as _scd2_previous_at,
        lag(_scd2_deleted) over _scd2_by_time as _scd2_previous_deleted
        {%- for c in state_cols %},
        lag({{ c }}) over _scd2_by_time as _scd2_previous_{{ loop.index }}
        {%- endfor %}
    from _scd2_ranked
    where _scd2_rank = 1
    window _scd2_by_time as (
        partition by {% for k in key_cols %}{{ k }}{{ ', ' if not loop.last }}{% endfor %}
        order by _scd2_at
    )

),

_scd2_intervals as (

    select
        *,
        lead(_scd2_at) over (
            partition by {% for k in key_cols %}{{ k }}{{ ', ' if not loop.last }}{% endfor %}
            order by _scd2_at
        ) as _scd2_next_at
    from _scd2_changes
    where _scd2_previous_at is null
        or _scd2_deleted is distinct from _scd2_previous_deleted
        {%- for c in state_cols %}
        or {{ c }} is distinct from _scd2_previous_{{ loop.index }}
        {%- endfor %}

),

_scd2_history as (

    select
        {% for k in key_cols -%}
        {{ k }},
        {% endfor -%}
        {% for c in state_cols -%}
        {{ c }},
        {% endfor -%}
        {% if keep_deletes -%}
        _scd2_deleted as {{ flag }},
        {% endif -%}
        _scd2_at as {{ q(valid_from) }},
        _scd2_next_at as {{ q(valid_to) }},
        _scd2_next_at is null as {{ q(is_current) }},
        {{ pitstop._scd2_state_hash(state_cols, '_scd2_deleted') }} as {{ q(change_hash) }}
        {%- if loaded_at is not none %},
        _scd2_loaded_at as {{ q(loaded_at) }}
        {%- endif %}
    from _scd2_intervals
    {% if not keep_deletes -%}
    where not _scd2_deleted
    {% endif %}
),

final as (

    select * from _scd2_history
    {% if target_relation is not none -%}
    union all
    select * from _scd2_kept
    {% endif %}
)

select * from final
{% endmacro %}
