{#- two views, one of them scd2, the spine given as a CTE name (with its columns,
    which adapters without `* exclude` need) -#}
with

spine as (

    select spine_id, customer_id, spine_at from {{ ref('data_point_in_time_join_spine') }}

),

final as (

    {{ pitstop.point_in_time_join(
        spine='spine',
        spine_timestamp='spine_at',
        spine_columns=['spine_id', 'customer_id', 'spine_at'],
        features=['pit_customer_events:score', 'pit_customer_segments:segment'], impl='default',
    ) | indent(4) }}

)

select * from final
