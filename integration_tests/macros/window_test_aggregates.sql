{#- The one window_aggregates call of each generated or seeded data set of
    the window models (`data`: 'seeded', compared with the expected CSVs;
    'dense', a hot skewed customer; 'edge', bucket boundaries around the
    epoch), in each form (`method`: none for the adapter's, 'frames',
    'join', 'buckets') and with or without the data set's spine, so that
    the models compared differ in nothing else. The edge set has five
    windows, so the buckets form cuts time five ways (1d12h buckets start at
    noon every other day). -#}
{% macro window_test_aggregates(data, method, with_spine) %}
    {%- set common = ['count', 'count(amount)', 'sum(amount)', 'avg(amount)', 'min(amount)',
        'max(amount)', 'count_distinct(merchant_id)'] -%}
    {%- set sets = {
        'seeded': {
            'events': 'data_window_aggregates_events', 'spine': 'data_window_aggregates_spine',
            'windows': ['1h', '1d'],
            'aggregates': ['count', 'sum(amount)', 'avg(amount)', 'min(amount)', 'max(amount)',
                {'function': 'count_distinct', 'column': 'merchant_id', 'name': 'merchant_count'}]},
        'dense': {
            'events': 'windows_dense_events', 'spine': 'windows_dense_spine',
            'windows': ['10m', '1h'], 'aggregates': common},
        'edge': {
            'events': 'windows_edge_events', 'spine': 'windows_edge_spine',
            'windows': ['1h', '24h', '7d', '30d', '1d12h'], 'aggregates': common},
    } -%}
    {%- set s = sets[data] -%}
    {{ return(pitstop.window_aggregates(
        events=ref(s.events),
        keys='customer_id',
        event_timestamp='event_at',
        windows=s.windows,
        aggregates=s.aggregates,
        spine=ref(s.spine) if with_spine else none,
        spine_timestamp='spine_at' if with_spine else none,
        method=method,
    )) }}
{% endmacro %}
