{#-
    Private helper of window_aggregates: the closing `final` CTE and select
    shared by both forms. With a spine, every spine row with its aggregates
    joined from `_win_results` by (keys, timestamp); without one, the
    results with `_win_at` renamed to the `as_of` column.
-#}
{% macro _windows_final(key_cols, spec, spine, spine_keys, spine_timestamp, as_of) %}
    {%- set q = adapter.quote -%}
final as (

    {% if spine is not none -%}
    select
        _win_spine.*,
        {% for w in spec.windows -%}
        {%- set outer = loop -%}
        {% for a in spec.aggregates -%}
        _win_results.{{ q(a.name ~ '_' ~ w.label) }}{{ ',' if not (outer.last and loop.last) }}
        {% endfor -%}
        {% endfor -%}
    from {{ spine }} as _win_spine
    left join _win_results
        on {% for k in spine_keys -%}
        _win_spine.{{ q(k) }} = _win_results.{{ key_cols[loop.index0] }} and {% endfor -%}
        _win_spine.{{ q(spine_timestamp) }} = _win_results._win_at
    {%- else -%}
    select
        {% for k in key_cols -%}
        {{ k }},
        {% endfor -%}
        _win_at as {{ q(as_of) }},
        {% for w in spec.windows -%}
        {%- set outer = loop -%}
        {% for a in spec.aggregates -%}
        {{ q(a.name ~ '_' ~ w.label) }}{{ ',' if not (outer.last and loop.last) }}
        {% endfor -%}
        {% endfor -%}
    from _win_results
    {%- endif %}

)

select * from final
{% endmacro %}
