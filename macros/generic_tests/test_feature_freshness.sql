{#-
    Generic test: a feature view's newest feature timestamp is recent enough.
    Fails with one row naming the view and its timestamp column when the
    newest value of `column_name` (default: the view's feature timestamp,
    from its `config.meta.pitstop` contract) is more than `max_age` (a
    duration: '2d', '12h') older than the reference time:
      - `as_of`, a timestamp literal (typically a var), else
      - the latest `relative_to_column` of the `relative_to` model (the newest
        source time: a view can only be as fresh as its input), else
      - the current time.
    An empty view fails too: it has no fresh value at all.
-#}
{% test feature_freshness(
    model, max_age, column_name=none, relative_to=none, relative_to_column=none, as_of=none
) %}
    {%- set me = 'feature_freshness' -%}
    {%- set view_name = model.identifier if model.identifier is defined else model | string -%}
    {%- set column = column_name -%}
    {%- if column is none and execute -%}
        {%- set column = pitstop._feature_view(view_name, me).timestamp -%}
    {%- endif -%}
    {%- set max_seconds = pitstop._ttl_seconds(max_age, view_name, 'max_age') -%}
    {%- if max_seconds is none -%}
        {{ exceptions.raise_compiler_error(me ~ ": model '" ~ view_name
            ~ "', field max_age: a freshness test needs a duration, not none") }}
    {%- endif -%}
    {%- if (relative_to is none) != (relative_to_column is none) -%}
        {{ exceptions.raise_compiler_error(me ~ ": model '" ~ view_name
            ~ "': `relative_to` and `relative_to_column` go together") }}
    {%- endif -%}
    {%- if as_of is not none and relative_to is not none -%}
        {{ exceptions.raise_compiler_error(me ~ ": model '" ~ view_name
            ~ "': give `as_of` or `relative_to`, not both") }}
    {%- endif -%}
    {%- set q = adapter.quote -%}
    {%- set safe_view = view_name | replace("'", "''") -%}
    {%- set safe_column = (column or '?') | replace("'", "''") -%}
    {%- if as_of is not none -%}
        {%- set reference_sql = "cast('" ~ (as_of | string | replace("'", "''"))
            ~ "' as " ~ dbt.type_timestamp() ~ ")" -%}
        {%- set reference_name = "as_of " ~ (as_of | string | replace("'", "''")) -%}
    {%- elif relative_to is not none -%}
        {%- set reference_sql = "(select max(" ~ q(relative_to_column) ~ ") from "
            ~ relative_to ~ ")" -%}
        {%- set reference_name = "the latest " ~ relative_to_column ~ " of "
            ~ (relative_to.identifier if relative_to.identifier is defined
               else relative_to | string) | replace("'", "''") -%}
    {%- else -%}
        {%- set reference_sql = dbt.current_timestamp() -%}
        {%- set reference_name = "now" -%}
    {%- endif %}
    with

    newest as (

        select
            max({{ q(column) if column else 'null' }}) as newest_at,
            {{ reference_sql }} as reference_at
        from {{ model }}

    ),

    final as (

        select
            '{{ safe_view }}' as feature_view,
            '{{ safe_column }}' as timestamp_column,
            newest_at,
            reference_at,
            'feature view {{ safe_view }}: newest {{ safe_column }} '
                || coalesce(cast(newest_at as {{ dbt.type_string() }}), 'none (no rows)')
                || ' is more than {{ max_age }} older than {{ reference_name }} ('
                || coalesce(cast(reference_at as {{ dbt.type_string() }}), 'none')
                || ')' as failure
        from newest
        where newest_at is null
            or newest_at < {{ dbt.dateadd('second', -max_seconds, 'reference_at') }}

    )

    select * from final
{% endtest %}
