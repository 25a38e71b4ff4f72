{#-
    Generic test on a feature column: at most `max_rate` (0 to 1, default 0)
    of the rows (those matching `row_condition`, when given) hold NULL. Fails
    with one row naming the feature (`view:feature`), the counts and the rate.
    A feature that is NULL by design in some rows (a rate without a
    denominator) gets the rate it is allowed; one that silently became NULL
    (a broken join) fails.
-#}
{% test feature_null_rate(model, column_name, max_rate=0, row_condition=none) %}
    {%- if max_rate is not number or max_rate < 0 or max_rate > 1 -%}
        {{ exceptions.raise_compiler_error("feature_null_rate: `max_rate` must be a number in"
            ~ " [0, 1], got '" ~ max_rate ~ "'") }}
    {%- endif -%}
    {%- set view_name = (model.identifier if model.identifier is defined else model | string)
        | replace("'", "''") -%}
    {%- set feature = view_name ~ ':' ~ (column_name | replace("'", "''")) -%}
    with

    counts as (

        select
            count(*) as n_rows,
            count({{ adapter.quote(column_name) }}) as n_values
        from {{ model }}
        {%- if row_condition is not none %}
        where {{ row_condition }}
        {%- endif %}

    ),

    final as (

        select
            '{{ feature }}' as feature,
            n_rows,
            n_rows - n_values as n_nulls,
            cast(n_rows - n_values as {{ dbt.type_float() }}) / n_rows as null_rate,
            'feature {{ feature }} is NULL in ' || cast(n_rows - n_values as {{
                dbt.type_string() }}) || ' of ' || cast(n_rows as {{ dbt.type_string() }})
                || ' rows (allowed: {{ max_rate }} of them)' as failure
        from counts
        where n_rows > 0
            and n_rows - n_values > {{ max_rate }} * n_rows

    )

    select * from final
{% endtest %}
