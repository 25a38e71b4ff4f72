{#-
    The merchant's risk-relevant events on one timeline: each transaction at
    its transacted_at, and each chargeback at its reported_at, the moment the
    fraud became known (never at the transaction time: that would leak the
    label into features of transactions made before the report).
-#}
with

transactions as (

    select * from {{ ref('stg_payments__transactions') }}

),

chargebacks as (

    select * from {{ ref('stg_payments__chargebacks') }}

),

transaction_events as (

    select
        merchant_id,
        transacted_at as event_at,
        'transaction' as event_type,
        transaction_id,
        1 as is_transaction,
        cast(null as integer) as is_chargeback,
        cast(null as double) as chargeback_amount
    from transactions

),

chargeback_events as (

    select
        transactions.merchant_id,
        chargebacks.reported_at as event_at,
        'chargeback' as event_type,
        chargebacks.transaction_id,
        cast(null as integer) as is_transaction,
        1 as is_chargeback,
        transactions.amount as chargeback_amount
    from chargebacks
    inner join transactions
        on chargebacks.transaction_id = transactions.transaction_id

),

final as (

    select * from transaction_events
    union all
    select * from chargeback_events

)

select * from final
