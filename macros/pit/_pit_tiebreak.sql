{#-
    THE tie order of a feature view's rows, the one definition every entry
    point uses (README, "Point-in-time training sets", "Tied rows"). Rows of
    one entity compare by

        (feature timestamp, created timestamp with NULL oldest, this expression)

    and the greatest wins: in point_in_time_join (both forms), in
    feature_history and in `materialize` (which compiles this macro through
    dbt rather than restating it in Python). The expression is the adapter's
    `_pit_row_hash` over ALL of the view's features in registry order, then
    valid_to for scd2/snapshot views, whatever subset a caller selects: the
    same rows always pick the same winner, so the answer cannot change with
    `features=`, with the scan order or with the entry point. Rows equal in
    all of these columns serve identical values, so which of them wins does
    not matter.

    view: a feature view name, ref('view'), the dict `_feature_view` returns,
        or a point_in_time_join plan entry. Columns are unqualified: use it in
        a query whose FROM is the view's relation.
-#}
{% macro _pit_tiebreak(view) -%}
    {%- if view is string or view.identifier is defined -%}
        {%- set view = pitstop._feature_view(view, '_pit_tiebreak') -%}
    {%- endif -%}
    {#- a plan entry's `features` are the requested ones; `all_features` are the view's -#}
    {%- set features = view.all_features if view.all_features is defined else view.features -%}
    {%- set columns = [] -%}
    {%- for f in features -%}{%- do columns.append(adapter.quote(f)) -%}{%- endfor -%}
    {%- if view.kind in ('scd2', 'snapshot') and view.valid_to -%}
        {%- do columns.append(adapter.quote(view.valid_to)) -%}
    {%- endif -%}
    {%- if not columns -%}{%- do columns.append(adapter.quote(view.timestamp)) -%}{%- endif -%}
    {{ pitstop._pit_row_hash(columns) }}
{%- endmacro %}


{#- `_pit_tiebreak` of each named view as one JSON object {view: SQL}, for
    `materialize` to compile all its views in a single `dbt compile --inline`. -#}
{% macro _pit_tiebreak_json(views) -%}
    {%- if not execute -%}{{ return('{}') }}{%- endif -%}
    {%- set out = {} -%}
    {%- for name in views -%}
        {%- do out.update({name: pitstop._pit_tiebreak(name) | trim}) -%}
    {%- endfor -%}
    {{ return(tojson(out)) }}
{%- endmacro %}
