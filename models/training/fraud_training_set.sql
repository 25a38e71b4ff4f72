{#-
    The fraud training set: one row per mature transaction, its label and the
    features known just before it was authorised. The feature list lives in
    this model's YAML (config.meta.pitstop.training_set.features): it is also
    the feature service a model trained on this table asks for online.
-#}
-- depends_on: {{ ref('customer_profile') }}
-- depends_on: {{ ref('customer_transaction_windows') }}
-- depends_on: {{ ref('merchant_daily_stats') }}
-- depends_on: {{ ref('merchant_chargeback_windows') }}
-- depends_on: {{ ref('merchant_risk_snapshot') }}
{%- set service = (config.get('meta') or {}).get('pitstop', {}).get('training_set', {}) -%}
{%- set observed_at = var('fraud_label_observed_at', '2025-07-01 00:00:00') -%}
{%- set maturity_days = var('fraud_label_maturity_days', 60) | int %}

with

transactions as (

    select * from {{ ref('stg_payments__transactions') }}

),

chargebacks as (

    select * from {{ ref('stg_payments__chargebacks') }}

),

labels as (

    -- only chargebacks reported by the observation date are known labels
    select
        transaction_id,
        min(reported_at) as fraud_reported_at
    from chargebacks
    where reported_at <= timestamp '{{ observed_at }}'
    group by transaction_id

),

spine as (

    select
        transactions.transaction_id,
        transactions.customer_id,
        transactions.merchant_id,
        transactions.amount,
        transactions.transacted_at,
        -- features as known strictly before the transaction: it must not count
        -- in its own velocity windows (online, it is scored before it is stored)
        transactions.transacted_at - interval 1 microsecond as feature_at,
        labels.fraud_reported_at is not null as is_fraud,
        labels.fraud_reported_at,
        timestamp '{{ observed_at }}' as label_observed_at
    from transactions
    left join labels
        on transactions.transaction_id = labels.transaction_id
    -- a label is final only once the reporting window is over: younger
    -- transactions would look legitimate merely because nobody reported yet
    where
        transactions.transacted_at
        <= timestamp '{{ observed_at }}' - interval {{ maturity_days }} day

),

final as (

    {{ pitstop.point_in_time_join(
        spine='spine',
        spine_timestamp='feature_at',
        features=service.get('features', []),
    ) | indent(4) }}

)

select * from final
