{#-
    Generic test: a feature view still has rows for the entities it should
    cover. Compares the distinct keys of the view (`keys`) with the distinct
    non-NULL keys of a reference model `to` (`to_keys`, default the same
    names), typically the staging model the entities come from. Fails with one
    row naming the view when fewer than `min_fraction` (default 1: all) of the
    reference keys appear in the view: a view that lost its entities (built
    from another source, a bad join, a filter) fails even when every row it
    kept is valid.
-#}
{% test entity_coverage(model, to, keys, to_keys=none, min_fraction=1) %}
    {%- set me = 'entity_coverage' -%}
    {%- set keys = pitstop._scd2_column_list(keys, me, 'keys') -%}
    {%- set to_keys = pitstop._scd2_column_list(
        to_keys if to_keys is not none else keys, me, 'to_keys') -%}
    {%- if to_keys | length != keys | length -%}
        {{ exceptions.raise_compiler_error(me ~ ": `to_keys` must name one column of `to` per"
            ~ " key in `keys` (" ~ keys | join(', ') ~ ")") }}
    {%- endif -%}
    {%- if min_fraction is not number or min_fraction <= 0 or min_fraction > 1 -%}
        {{ exceptions.raise_compiler_error(me ~ ": `min_fraction` must be a number in (0, 1],"
            ~ " got '" ~ min_fraction ~ "'") }}
    {%- endif -%}
    {%- set q = adapter.quote -%}
    {%- set view_name = (model.identifier if model.identifier is defined else model | string)
        | replace("'", "''") -%}
    {%- set to_name = (to.identifier if to.identifier is defined else to | string)
        | replace("'", "''") -%}
    with

    expected as (

        select distinct
            {% for k in to_keys -%}
            {{ q(k) }} as _cov_k{{ loop.index }}{{ ',' if not loop.last }}
            {% endfor -%}
        from {{ to }}
        where {% for k in to_keys %}{{ q(k) }} is not null{{ ' and ' if not loop.last }}
            {%- endfor %}

    ),

    covered as (

        select distinct
            {% for k in keys -%}
            {{ q(k) }} as _cov_k{{ loop.index }}{{ ',' if not loop.last }}
            {% endfor -%}
        from {{ model }}

    ),

    summary as (

        select
            count(*) as expected_keys,
            count(covered._cov_k1) as covered_keys
        from expected
        left join covered
            on {% for k in keys -%}
            expected._cov_k{{ loop.index }} = covered._cov_k{{ loop.index }}
            {{- ' and ' if not loop.last }}
            {%- endfor %}

    ),

    final as (

        select
            '{{ view_name }}' as feature_view,
            '{{ to_name }}' as reference_model,
            covered_keys,
            expected_keys,
            'feature view {{ view_name }} has rows for ' || cast(covered_keys as {{
                dbt.type_string() }}) || ' of the ' || cast(expected_keys as {{
                dbt.type_string() }}) || ' {{ keys | join(", ") }} of {{ to_name }}'
                as failure
        from summary
        where covered_keys < expected_keys * {{ min_fraction }}

    )

    select * from final
{% endtest %}
