{{ pitstop.point_in_time_join(
    spine=ref('data_point_in_time_join_spine'),
    spine_timestamp='spine_at',
    features=['pit_empty_events'], impl='default',
) }}
