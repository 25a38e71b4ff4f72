{#- late rows allowed, TTL switched off by the per-call override -#}
{{ pitstop.point_in_time_join(
    spine=ref('data_point_in_time_join_spine'),
    spine_timestamp='spine_at',
    features=['pit_customer_events'],
    ttl={'pit_customer_events': none},
    exclude_late_rows=false, impl='default',
) }}
