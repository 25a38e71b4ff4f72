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
{#- dbt snapshots do not run on the spark target (README, "Scaling out on Spark"):
    there the merchant_risk_snapshot features are read from merchant_risk_history
    (scd2_from_events over the same merchants table) under their usual column
    names, so a model trained on either target asks for the same feature service.
    The mapping is var pitstop_stand_ins, which the registry reads too. -#}
{%- set view_on_target = var('pitstop_stand_ins', {}).get(target.type, {}) %}
-- depends_on: {{ ref(view_on_target.get('merchant_risk_snapshot', 'merchant_risk_snapshot')) }}
{%- set service = (config.get('meta') or {}).get('pitstop', {}).get('training_set', {}) -%}
{%- set features = [] -%}
{%- set outputs = [] -%}
{%- for item in service.get('features', []) -%}
    {%- set view, feature = item.split(':') -%}
    {%- set used = view_on_target.get(view, view) -%}
    {%- do features.append(used ~ ':' ~ feature) -%}
    {%- do outputs.append(used ~ '__' ~ feature ~ ' as ' ~ view ~ '__' ~ feature) -%}
{%- endfor -%}
{%- set spine_columns = ['transaction_id', 'customer_id', 'merchant_id', 'amount',
    'transacted_at', 'feature_at', 'is_fraud', 'fraud_reported_at', 'label_observed_at'] -%}
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
        {{ dbt.dateadd('microsecond', -1, 'transactions.transacted_at') }} as feature_at,
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
        <= {{ dbt.dateadd('day', -maturity_days, "timestamp '" ~ observed_at ~ "'") }}

),

joined as (

    {{ pitstop.point_in_time_join(
        spine='spine',
        spine_timestamp='feature_at',
        features=features,
        spine_columns=spine_columns,
    ) | indent(4) }}

),

final as (

    select
        {{ spine_columns | join(',\n        ') }},
        {{ outputs | join(',\n        ') }}
    from joined

)

select * from final
