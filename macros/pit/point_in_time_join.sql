{#-
    Point-in-time correct join of feature views onto a spine: for each spine row
    (entity keys + timestamp t) and each view, the view's row with the latest
    timestamp <= t (ties: latest created timestamp, then a hash of the row);
    NULL features when that row is older than t - ttl (event views) or no
    longer valid at t (scd2/snapshot views: valid_from <= t < valid_to). With
    exclude_late_rows, rows whose created timestamp is after t do not exist yet.
    Every spine row comes out exactly once, in spine order, with all its columns.
    Semantics and arguments: README, section "Point-in-time training sets".

    spine: a relation (ref/source) or the name of a CTE or table.
    spine_timestamp: the spine's timestamp column.
    features: list of 'view', 'view:feature', ref('view') or
        {view: ..., features: [...], keys: {view_key: spine_column}, ttl: '30d'|none}.
    key_map: {view: {view_key: spine_column}} (default: same names).
    ttl: {view: '30d' | none} overrides the views' TTL.
    exclude_late_rows: also require created timestamp <= t (default true).
    naming: 'prefixed' (<view>__<feature>) or 'short' (<feature>).
    spine_columns: the spine's column names, to check collisions (optional).
    impl: none (dispatch on the adapter) or 'default' (force the portable form;
        var pitstop_pit_impl does the same project-wide).
-#}
{% macro point_in_time_join(spine, features, spine_timestamp=none, key_map=none, ttl=none,
                            exclude_late_rows=true, naming='prefixed', spine_columns=none,
                            impl=none) %}
    {%- if not execute -%}
        {#- parsing: only record the lineage of views named by string -#}
        {%- for item in (features if features is iterable and features is not string
                else []) -%}
            {%- set view = item.split(':')[0] if item is string
                else (item.get('view') if item is mapping and item.identifier is not defined
                else none) -%}
            {%- if view is string and view != '' -%}{%- do ref(view) -%}{%- endif -%}
        {%- endfor -%}
        {{ return('select 1 as pitstop_parsing') }}
    {%- endif -%}
    {%- if spine is none or (spine is string and spine | trim == '') -%}
        {{ exceptions.raise_compiler_error(
            "point_in_time_join: spine must be a relation or a CTE name") }}
    {%- endif -%}
    {%- set impl = impl if impl is not none else var('pitstop_pit_impl', none) -%}
    {%- if impl not in (none, 'default', 'adapter') -%}
        {{ exceptions.raise_compiler_error("point_in_time_join: impl must be 'default' or"
            ~ " 'adapter', got '" ~ impl ~ "'") }}
    {%- endif -%}
    {%- set plan = pitstop._pit_plan(spine_timestamp, features, key_map, ttl,
        exclude_late_rows, naming, spine_columns) -%}
    {%- if impl == 'default' -%}
        {{ return(pitstop.default__point_in_time_join(spine, spine_timestamp, plan,
            spine_columns)) }}
    {%- endif -%}
    {{ return(adapter.dispatch('point_in_time_join', 'pitstop')(spine, spine_timestamp, plan,
        spine_columns)) }}
{% endmacro %}


{#-
    Portable form (window functions only). Per view: number the view's rows per
    key in tie-break order (__pit_rank), interleave them with the distinct spine
    (key, t) points ordered by availability time (view rows before spine points
    at equal times: inclusive), and take the running max of __pit_rank at each
    spine point: the best row available at t. Then join that row back by rank.
-#}
{% macro default__point_in_time_join(spine, spine_timestamp, plan, spine_columns) %}
{#- adapters without `* exclude` (Spark) select the spine's columns by name -#}
{%- if spine_columns is none and spine is not string -%}
    {%- set spine_columns = adapter.get_columns_in_relation(spine) | map(attribute='name')
        | list -%}
{%- endif %}
with

{{ pitstop._pit_spine(spine, spine_timestamp) }},
{% for v in plan %}
{%- set a = v.alias %}

{{ a }}_rows as (

    select
        renamed.*,
        row_number() over (
            partition by {% for k in v['keys'] %}__pit_k{{ loop.index }}{{ ', ' if not loop.last }}
            {%- endfor %}
            order by
                __pit_ts,
                {%- if v.created_timestamp %}
                case when __pit_created is null then 0 else 1 end,
                __pit_created,
                {%- endif %}
                __pit_hash
        ) as __pit_rank
    from (
        select
            {{ pitstop._pit_view_columns(v) | indent(12) }}
        from {{ v.relation }}
    ) as renamed
    where __pit_ts is not null

),

{{ a }}_points as (

    select distinct
        {%- for k in v['keys'] %}
        {{ adapter.quote(k.spine) }} as __pit_k{{ loop.index }},
        {%- endfor %}
        __pit_t
    from __pit_spine
    where __pit_t is not null
    {%- for k in v['keys'] %}
        and {{ adapter.quote(k.spine) }} is not null
    {%- endfor %}

),

{{ a }}_timeline as (

    select
        {%- for k in v['keys'] %}
        __pit_k{{ loop.index }},
        {%- endfor %}
        __pit_t as __pit_pos,
        1 as __pit_side,
        cast(null as {{ dbt.type_bigint() }}) as __pit_rank
    from {{ a }}_points
    union all
    select
        {%- for k in v['keys'] %}
        __pit_k{{ loop.index }},
        {%- endfor %}
        {{ pitstop._pit_available_at(v) }} as __pit_pos,
        0 as __pit_side,
        __pit_rank
    from {{ a }}_rows

),

{{ a }}_best as (

    select
        {%- for k in v['keys'] %}
        __pit_k{{ loop.index }},
        {%- endfor %}
        __pit_pos as __pit_t,
        __pit_best
    from (
        select
            *,
            max(__pit_rank) over (
                partition by {% for k in v['keys'] %}__pit_k{{ loop.index }}
                {{- ', ' if not loop.last }}{% endfor %}
                order by __pit_pos, __pit_side
                rows between unbounded preceding and current row
            ) as __pit_best
        from {{ a }}_timeline
    ) as running
    where __pit_side = 1

),
{% endfor %}

__pit_final as (

    select
        {{ pitstop._pit_final_columns(plan, spine, spine_columns) }}
    from __pit_spine as s
    {%- for v in plan %}
    left join {{ v.alias }}_best as {{ v.alias }}_b
        on {% for k in v['keys'] -%}
        s.{{ adapter.quote(k.spine) }} = {{ v.alias }}_b.__pit_k{{ loop.index }}
        and {% endfor -%}
        s.__pit_t = {{ v.alias }}_b.__pit_t
    left join {{ v.alias }}_rows as {{ v.alias }}
        on {% for k in v['keys'] -%}
        {{ v.alias }}_b.__pit_k{{ loop.index }} = {{ v.alias }}.__pit_k{{ loop.index }}
        and {% endfor -%}
        {{ v.alias }}_b.__pit_best = {{ v.alias }}.__pit_rank
    {%- endfor %}

)

select {{ pitstop._pit_star_except('__pit_final', ['__pit_row'], none,
    pitstop._pit_output_names(plan, spine_columns)) }}
from __pit_final
order by __pit_row
{% endmacro %}


{#-
    DuckDB: native ASOF LEFT JOIN, https://duckdb.org/docs/stable/guides/sql_features/asof_join
    Without the late-row filter, one ASOF join per view whose inequality is on the
    struct (timestamp, created timestamp, row hash): structs compare field by
    field, so the ASOF join itself picks the tie-break winner and no dedupe pass
    is needed. NULL created timestamps become -infinity (oldest); a NULL spine
    timestamp makes the whole struct NULL, which matches nothing.
    With the late-row filter a row counts from its availability time a =
    max(timestamp, created timestamp). A row can only be the answer while no
    row later in tie-break order is available yet, i.e. for t in [a, next)
    where next = the least availability time of the rows after it in tie-break
    order (one window pass: a min over the following rows). Rows with
    a >= next never win and are dropped; the remaining rows have disjoint
    [a, next) intervals, so their availability times are distinct and increase
    with the tie-break order, and a plain ASOF join on availability time picks
    the winner with its columns: one sort in tie-break order and one ASOF, no
    ranking pass and no join back (the row-by-row proof is in the README).
    For spines under asof_loop_join_threshold rows (default 64) DuckDB plans a
    nested-loop join with an aggregate instead; both plans give the same rows
    (tested in tests/test_pit_properties.py).
-#}
{% macro duckdb__point_in_time_join(spine, spine_timestamp, plan, spine_columns) %}
with

{{ pitstop._pit_spine(spine, spine_timestamp) }},
{% for v in plan %}
{%- set a = v.alias %}

{{ a }}_rows as (

    select
        *,
        {%- if v.late_filter %}
        {{ pitstop._pit_available_at(v) }} as __pit_available_at
        {%- else %}
        {
            't': __pit_ts,
            {%- if v.created_timestamp %}
            'c': coalesce(__pit_created, '-infinity'::timestamp),
            {%- endif %}
            'h': __pit_hash
        } as __pit_order
        {%- endif %}
    from (
        select
            {{ pitstop._pit_view_columns(v) | indent(12) }}
        from {{ v.relation }}
    ) as renamed
    where __pit_ts is not null

),
{%- if v.late_filter %}

{{ a }}_known as (

    select * exclude (__pit_next)
    from (
        select
            *,
            min(__pit_available_at) over (
                partition by {% for k in v['keys'] %}__pit_k{{ loop.index }}
                {{- ', ' if not loop.last }}{% endfor %}
                order by __pit_ts, __pit_created nulls first, __pit_hash
                rows between 1 following and unbounded following
            ) as __pit_next
        from {{ a }}_rows
    ) as successors
    where __pit_next is null or __pit_available_at < __pit_next

),
{%- endif %}
{% endfor %}

__pit_final as (

    select
        {{ pitstop._pit_final_columns(plan, spine, spine_columns) }}
    from __pit_spine as s
    {%- for v in plan %}
    {%- if v.late_filter %}
    asof left join {{ v.alias }}_known as {{ v.alias }}
        on {% for k in v['keys'] -%}
        s.{{ adapter.quote(k.spine) }} = {{ v.alias }}.__pit_k{{ loop.index }}
        and {% endfor -%}
        s.__pit_t >= {{ v.alias }}.__pit_available_at
    {%- else %}
    asof left join {{ v.alias }}_rows as {{ v.alias }}
        on {% for k in v['keys'] -%}
        s.{{ adapter.quote(k.spine) }} = {{ v.alias }}.__pit_k{{ loop.index }}
        and {% endfor -%}
        (case when s.__pit_t is not null then {
            't': s.__pit_t,
            {%- if v.created_timestamp %}
            'c': 'infinity'::timestamp,
            {%- endif %}
            'h': 18446744073709551615::ubigint
        } end) >= {{ v.alias }}.__pit_order
    {%- endif %}
    {%- endfor %}

)

select * exclude (__pit_row)
from __pit_final
order by __pit_row
{% endmacro %}
