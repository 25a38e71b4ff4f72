{#-
    Generic test on a feature column: every non-NULL value lies within
    [`min_value`, `max_value`] (either bound may be left out, not both), in
    the rows matching `row_condition` when given. Fails with one row per value
    outside, naming the feature (`view:feature`) and the bound it breaks.
-#}
{% test feature_range(model, column_name, min_value=none, max_value=none, row_condition=none) %}
    {%- set me = 'feature_range' -%}
    {%- if min_value is none and max_value is none -%}
        {{ exceptions.raise_compiler_error(me ~ ": give `min_value`, `max_value` or both") }}
    {%- endif -%}
    {%- for bound in [min_value, max_value] if bound is not none and bound is not number -%}
        {{ exceptions.raise_compiler_error(me ~ ": bounds must be numbers, got '" ~ bound ~ "'") }}
    {%- endfor -%}
    {%- set view_name = (model.identifier if model.identifier is defined else model | string)
        | replace("'", "''") -%}
    {%- set feature = view_name ~ ':' ~ (column_name | replace("'", "''")) -%}
    {%- set value = adapter.quote(column_name) -%}
    with

    outside as (

        select {{ value }} as feature_value
        from {{ model }}
        where {{ value }} is not null
            and (
                {%- if min_value is not none %}
                {{ value }} < {{ min_value }}
                {%- endif %}
                {%- if min_value is not none and max_value is not none %} or{% endif %}
                {%- if max_value is not none %}
                {{ value }} > {{ max_value }}
                {%- endif %}
            )
            {%- if row_condition is not none %}
            and ({{ row_condition }})
            {%- endif %}

    ),

    final as (

        select
            '{{ feature }}' as feature,
            feature_value,
            'feature {{ feature }} = ' || cast(feature_value as {{ dbt.type_string() }})
                || ' is outside [{{ min_value if min_value is not none else "-inf" }}, '
                || '{{ max_value if max_value is not none else "inf" }}]' as failure
        from outside

    )

    select * from final
{% endtest %}
