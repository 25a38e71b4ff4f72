{#- The one window_aggregates call of the dense models, in both forms
    (`method` 'frames' or 'join') and with or without the dense spine, so
    the models compared differ in nothing else. -#}
{% macro dense_window_aggregates(method, with_spine) %}
    {{ return(pitstop.window_aggregates(
        events=ref('windows_dense_events'),
        keys='customer_id',
        event_timestamp='event_at',
        windows=['10m', '1h'],
        aggregates=['count', 'count(amount)', 'sum(amount)', 'avg(amount)', 'min(amount)',
            'max(amount)', 'count_distinct(merchant_id)'],
        spine=ref('windows_dense_spine') if with_spine else none,
        spine_timestamp='spine_at' if with_spine else none,
        method=method,
    )) }}
{% endmacro %}
