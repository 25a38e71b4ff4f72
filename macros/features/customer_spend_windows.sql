{#-
    The customer spend and velocity windows, defined once: the online feature
    view `customer_transaction_windows` (as of each transaction) and the exact
    as-of-spine windows in `int_transactions_windowed` both use this spec, so
    training and serving compute the same features by construction.
    Returns the window_aggregates arguments that describe the features.
-#}
{% macro customer_spend_windows() %}
    {{ return({
        'keys': 'customer_id',
        'event_timestamp': 'transacted_at',
        'windows': ['1h', '24h', '7d', '30d'],
        'aggregates': [
            {'function': 'count', 'name': 'customer_txn_count'},
            {'function': 'sum', 'column': 'amount', 'name': 'customer_amount_sum'},
            {'function': 'avg', 'column': 'amount', 'name': 'customer_amount_avg'},
            {'function': 'max', 'column': 'amount', 'name': 'customer_amount_max'},
            {'function': 'count_distinct', 'column': 'merchant_id',
                'name': 'customer_merchant_count'},
        ],
    }) }}
{% endmacro %}
