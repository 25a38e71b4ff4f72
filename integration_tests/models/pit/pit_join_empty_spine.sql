{#- a CTE spine names its columns: adapters without `* exclude` need them -#}
with

spine as (

    select * from {{ ref('data_point_in_time_join_spine') }} where false

),

final as (

    {{ pitstop.point_in_time_join(
        spine='spine',
        spine_timestamp='spine_at',
        spine_columns=['spine_id', 'customer_id', 'spine_at', 'note'],
        features=['pit_customer_events', 'pit_customer_segments'],
    ) | indent(4) }}

)

select * from final
