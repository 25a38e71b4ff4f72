{#-
    Generic test: per key, the validity intervals [valid_from, valid_to) of a
    history table are non-empty and never overlap; valid_to NULL (open) is
    allowed only on the key's last interval. With contiguous=true, gaps fail
    too (each valid_to must equal the next valid_from). Fails with one row per
    offending interval. dbt_utils.mutually_exclusive_ranges does the same job
    but dbt_utils is not a dependency of this project.
-#}
{% test no_overlapping_intervals(
    model, keys, valid_from='valid_from', valid_to='valid_to', contiguous=false
) %}
    {%- set keys = pitstop._scd2_column_list(keys, 'no_overlapping_intervals', 'keys') -%}
    {%- set key_cols = pitstop._scd2_quoted(keys) | join(', ') -%}
    {%- set vf = adapter.quote(valid_from) -%}
    {%- set vt = adapter.quote(valid_to) -%}
    with

    intervals as (

        select
            {{ key_cols }},
            {{ vf }} as interval_from,
            {{ vt }} as interval_to,
            lead({{ vf }}) over (partition by {{ key_cols }} order by {{ vf }}) as next_from,
            count(*) over (partition by {{ key_cols }}, {{ vf }}) as n_same_start
        from {{ model }}

    ),

    final as (

        select * from intervals
        where interval_from is null
            or interval_to <= interval_from
            or n_same_start > 1
            or (next_from is not null and (interval_to is null or interval_to > next_from))
            {%- if contiguous %}
            or (next_from is not null and interval_to < next_from)
            {%- endif %}

    )

    select * from final
{% endtest %}
