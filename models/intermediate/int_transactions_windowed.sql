{#-
    Exact window features as of each transaction (the spine): the customer's
    spend and velocity, and the merchant's chargeback record, over events with
    time in (t - w, t] for the transaction's own time t. Transactions at the
    same instant count, the transaction itself included; a chargeback counts
    from its reported_at. This is the leak-free, never-stale form for training
    sets whose spine is transactions.
-#}
with

transactions as (

    select * from {{ ref('stg_payments__transactions') }}

),

risk_events as (

    select * from {{ ref('int_merchant_risk_events') }}

),

spine as (

    select
        transaction_id,
        customer_id,
        merchant_id,
        transacted_at
    from transactions

),

customer_windows as (

    {{ pitstop.window_aggregates(
        events='transactions',
        spine='spine',
        **pitstop.customer_spend_windows()
    ) | indent(4) }}

),

merchant_windows as (

    {{ pitstop.window_aggregates(
        events='risk_events',
        keys='merchant_id',
        event_timestamp='event_at',
        windows=['30d', '90d'],
        aggregates=[
            {'function': 'count', 'column': 'is_transaction', 'name': 'merchant_txn_count'},
            {'function': 'count', 'column': 'is_chargeback', 'name': 'merchant_chargeback_count'},
        ],
        spine='customer_windows',
        spine_timestamp='transacted_at',
    ) | indent(4) }}

),

final as (

    select
        *,
        merchant_chargeback_count_30d / nullif(merchant_txn_count_30d, 0)
            as merchant_chargeback_rate_30d,
        merchant_chargeback_count_90d / nullif(merchant_txn_count_90d, 0)
            as merchant_chargeback_rate_90d
    from merchant_windows

)

select * from final
