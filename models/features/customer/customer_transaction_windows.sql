with

transactions as (

    select * from {{ ref('stg_payments__transactions') }}

),

windowed as (

    {{ pitstop.window_aggregates(
        events='transactions',
        keys='customer_id',
        event_timestamp='transacted_at',
        windows=['1h', '24h', '7d', '30d'],
        aggregates=[
            {'function': 'count', 'name': 'customer_txn_count'},
            {'function': 'sum', 'column': 'amount', 'name': 'customer_amount_sum'},
            {'function': 'avg', 'column': 'amount', 'name': 'customer_amount_avg'},
            {'function': 'max', 'column': 'amount', 'name': 'customer_amount_max'},
            {'function': 'count_distinct', 'column': 'merchant_id',
                'name': 'customer_merchant_count'},
        ],
    ) | indent(4) }}

),

final as (

    select
        customer_id,
        as_of_at,
        as_of_at as last_transaction_at,
        * exclude (customer_id, as_of_at)
    from windowed

)

select * from final
