{{ pitstop.point_in_time_join(
    spine=ref('data_point_in_time_join_scd2_spine'),
    spine_timestamp='spine_at',
    features=[ref('pit_customer_segments')],
    naming='short', impl='default',
) }}
