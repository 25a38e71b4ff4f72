{{ pitstop.default__window_aggregates(
    ref('data_window_aggregates_events'),
    ['customer_id'],
    'event_at',
    pitstop._windows_parse(['1h', '1d'],
        ['count', 'sum(amount)', 'avg(amount)', 'min(amount)', 'max(amount)',
        {'function': 'count_distinct', 'column': 'merchant_id', 'name': 'merchant_count'}],
        'test'),
    none,
    none,
    none,
    'as_of_at',
) }}
