{{ pitstop.window_aggregates(
    events=ref('data_window_aggregates_events'),
    keys='customer_id',
    event_timestamp='event_at',
    windows=['1h', '1d'],
    aggregates=['count', 'sum(amount)', 'avg(amount)', 'min(amount)', 'max(amount)',
        {'function': 'count_distinct', 'column': 'merchant_id', 'name': 'merchant_count'}],
    method='join',
) }}
