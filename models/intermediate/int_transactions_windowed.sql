{#-
    Exact customer spend and velocity windows as of each transaction:
    events of the same customer with transacted_at in (t - w, t], the
    transaction itself and any at the same instant included. This is the
    leak-free, never-stale form for training sets whose spine is transactions.
-#}
with

transactions as (

    select * from {{ ref('stg_payments__transactions') }}

),

spine as (

    select
        transaction_id,
        customer_id,
        merchant_id,
        transacted_at
    from transactions

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
        spine='spine',
    ) | indent(4) }}

),

final as (

    select * from windowed

)

select * from final
