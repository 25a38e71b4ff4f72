{#- the portable range-join form (method='join', what default__ emits), on DuckDB:
    must equal the duckdb__ RANGE-frame form -#}
{{ pitstop.window_aggregates(
    events=ref('data_window_aggregates_events'),
    keys='customer_id',
    event_timestamp='event_at',
    windows=['1h', '1d'],
    aggregates=['count', 'sum(amount)', 'avg(amount)', 'min(amount)', 'max(amount)',
        {'function': 'count_distinct', 'column': 'merchant_id', 'name': 'merchant_count'}],
    spine=ref('data_window_aggregates_spine'),
    spine_timestamp='spine_at',
    method='join',
) }}
