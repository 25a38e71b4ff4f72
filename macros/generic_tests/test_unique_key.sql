{#-
    Generic test: the combination of `columns` identifies a row. Fails with
    one row per duplicated key. Used as the primary-key test of models whose
    key is composite (feature views keyed by entity and timestamp).
-#}
{% test unique_key(model, columns) %}
    {%- if columns is string or columns | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "unique_key: `columns` must be a non-empty list of column names") }}
    {%- endif %}
    select
        {% for column in columns -%}
        {{ adapter.quote(column) }},
        {% endfor -%}
        count(*) as n_rows
    from {{ model }}
    group by all
    having count(*) > 1
        or {% for column in columns -%}
        {{ adapter.quote(column) }} is null{{ " or " if not loop.last }}
        {%- endfor %}
{% endtest %}
