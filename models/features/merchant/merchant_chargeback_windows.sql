with

risk_events as (

    select * from {{ ref('int_merchant_risk_events') }}

),

windowed as (

    {{ pitstop.window_aggregates(
        events='risk_events',
        keys='merchant_id',
        event_timestamp='event_at',
        windows=['7d', '30d', '90d'],
        aggregates=[
            {'function': 'count', 'column': 'is_transaction', 'name': 'transaction_count'},
            {'function': 'count', 'column': 'is_chargeback', 'name': 'chargeback_count'},
            {'function': 'sum', 'column': 'chargeback_amount', 'name': 'chargeback_amount_sum'},
        ],
    ) | indent(4) }}

),

final as (

    select
        merchant_id,
        as_of_at,
        as_of_at as last_event_at,
        transaction_count_7d,
        chargeback_count_7d,
        chargeback_count_7d / nullif(transaction_count_7d, 0) as chargeback_rate_7d,
        chargeback_amount_sum_7d,
        transaction_count_30d,
        chargeback_count_30d,
        chargeback_count_30d / nullif(transaction_count_30d, 0) as chargeback_rate_30d,
        chargeback_amount_sum_30d,
        transaction_count_90d,
        chargeback_count_90d,
        chargeback_count_90d / nullif(transaction_count_90d, 0) as chargeback_rate_90d,
        chargeback_amount_sum_90d
    from windowed

)

select * from final
