{#- the portable default__ form, forced on DuckDB: must equal the duckdb__ form -#}
{{ pitstop.default__window_aggregates(
    ref('data_window_aggregates_events'),
    ['customer_id'],
    'event_at',
    pitstop._windows_parse(['1h', '1d'],
        ['count', 'sum(amount)', 'avg(amount)', 'min(amount)', 'max(amount)',
        {'function': 'count_distinct', 'column': 'merchant_id', 'name': 'merchant_count'}],
        'test'),
    ref('data_window_aggregates_spine'),
    'spine_at',
    ['customer_id'],
    'as_of_at',
) }}
