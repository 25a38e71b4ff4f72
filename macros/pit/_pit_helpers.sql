{#-
    Small private helpers of point_in_time_join. The hash and the star-except
    dispatch on the adapter (not on `impl`), so that the default__ and duckdb__
    forms of the join break ties identically on the same warehouse.
-#}

{#- A deterministic 64-bit-ish hash of a row's output columns: the last tiebreak
    between feature rows with equal timestamp and created timestamp. -#}
{% macro _pit_row_hash(columns) %}
    {{- return(adapter.dispatch('_pit_row_hash', 'pitstop')(columns)) -}}
{% endmacro %}

{% macro default___pit_row_hash(columns) -%}
    md5(
        {%- for c in columns %}
        coalesce(cast({{ c }} as {{ dbt.type_string() }}), '\x00null') || '\x1f'
        {{- ' ||' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{#- DuckDB's hash() takes any number of arguments of any type, NULLs included:
    https://duckdb.org/docs/stable/sql/functions/utility#hashvalue -#}
{% macro duckdb___pit_row_hash(columns) -%}
    hash({{ columns | join(', ') }})
{%- endmacro %}


{#- `alias.*` without the helper columns `except`. -#}
{% macro _pit_star_except(alias, except, spine, spine_columns) %}
    {{- return(adapter.dispatch('_pit_star_except', 'pitstop')(alias, except, spine,
        spine_columns)) -}}
{% endmacro %}

{% macro default___pit_star_except(alias, except, spine, spine_columns) -%}
    {%- set columns = spine_columns -%}
    {%- if columns is none and spine is not string -%}
        {%- set columns = adapter.get_columns_in_relation(spine) | map(attribute='name')
            | list -%}
    {%- endif -%}
    {%- if not columns -%}
        {{ exceptions.raise_compiler_error("point_in_time_join: spine_columns is required on"
            ~ " this adapter when the spine is a CTE name") }}
    {%- endif -%}
    {%- for c in columns if c not in except -%}
        {{ alias }}.{{ adapter.quote(c) }}{{ ', ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- https://duckdb.org/docs/stable/sql/expressions/star#exclude-clause -#}
{% macro duckdb___pit_star_except(alias, except, spine, spine_columns) -%}
    {{ alias }}.* exclude ({{ except | join(', ') }})
{%- endmacro %}


{#- The columns of a view's rows CTE: keys, timestamps, features, renamed to
    `__pit_k<i>`, `__pit_ts`, `__pit_created`, `__pit_valid_to`, `__pit_f<i>`. -#}
{% macro _pit_view_columns(v) -%}
    {%- set columns = [] -%}
    {%- for k in v['keys'] -%}
        {%- do columns.append(adapter.quote(k.view) ~ ' as __pit_k' ~ loop.index) -%}
    {%- endfor -%}
    {%- do columns.append('cast(' ~ adapter.quote(v.timestamp) ~ ' as '
        ~ dbt.type_timestamp() ~ ') as __pit_ts') -%}
    {%- if v.created_timestamp -%}
        {%- do columns.append('cast(' ~ adapter.quote(v.created_timestamp) ~ ' as '
            ~ dbt.type_timestamp() ~ ') as __pit_created') -%}
    {%- endif -%}
    {%- if v.is_range -%}
        {%- do columns.append('cast(' ~ adapter.quote(v.valid_to) ~ ' as '
            ~ dbt.type_timestamp() ~ ') as __pit_valid_to') -%}
    {%- endif -%}
    {%- for f in v.features -%}
        {%- do columns.append(adapter.quote(f.column) ~ ' as __pit_f' ~ loop.index) -%}
    {%- endfor -%}
    {%- do columns.append(pitstop._pit_tiebreak(v) ~ ' as __pit_hash') -%}
    {{ columns | join(',\n') }}
{%- endmacro %}


{#- The hash tiebreak: over every feature of the view (not only the requested
    ones, so that any selection picks the same row) and valid_to. -#}
{% macro _pit_tiebreak(v) -%}
    {%- set columns = [] -%}
    {%- for f in v.all_features -%}{%- do columns.append(adapter.quote(f)) -%}{%- endfor -%}
    {%- if v.is_range -%}{%- do columns.append(adapter.quote(v.valid_to)) -%}{%- endif -%}
    {%- if not columns -%}{%- do columns.append(adapter.quote(v.timestamp)) -%}{%- endif -%}
    {{ pitstop._pit_row_hash(columns) }}
{%- endmacro %}


{#- When a view row becomes usable at spine time t: its timestamp, or with the
    late-row filter the later of its timestamp and its created timestamp. -#}
{% macro _pit_available_at(v) -%}
    {%- if v.late_filter -%}
        case when __pit_created > __pit_ts then __pit_created else __pit_ts end
    {%- else -%}
        __pit_ts
    {%- endif -%}
{%- endmacro %}


{#- The condition under which the matched row `r` of view v counts at spine
    time `t` (TTL for events, validity for ranges), or none when it always does. -#}
{% macro _pit_match_condition(v, r, t) -%}
    {%- if v.is_range -%}
        ({{ r }}.__pit_valid_to is null or {{ t }} < {{ r }}.__pit_valid_to)
    {%- elif v.ttl_seconds is not none -%}
        {{ r }}.__pit_ts >= {{ dbt.dateadd('second', -1 * v.ttl_seconds, t) | trim }}
    {%- endif -%}
{%- endmacro %}


{#- The output feature columns of view v read from matched row alias `r`. -#}
{% macro _pit_output_columns(v, r, t) -%}
    {%- set condition = pitstop._pit_match_condition(v, r, t) | trim -%}
    {%- for f in v.features %}
        {% if condition -%}
        case when {{ condition }} then {{ r }}.__pit_f{{ loop.index }} end
        {%- else -%}
        {{ r }}.__pit_f{{ loop.index }}
        {%- endif %} as {{ adapter.quote(f.output) }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
