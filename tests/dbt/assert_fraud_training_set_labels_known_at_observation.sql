{#-
    The label of each training row is what was known at label_observed_at: a
    transaction is fraud exactly when one of its chargebacks was reported at or
    before that date, and fraud_reported_at is the first such report. A
    chargeback reported later must not leak into the label. Fails with one row
    per transaction whose label disagrees.
-#}

with

training_set as (

    select * from {{ ref('fraud_training_set') }}

),

chargebacks as (

    select * from {{ ref('stg_payments__chargebacks') }}

),

known_reports as (

    select
        training_set.transaction_id,
        min(chargebacks.reported_at) as first_reported_at
    from training_set
    inner join chargebacks
        on training_set.transaction_id = chargebacks.transaction_id
    where chargebacks.reported_at <= training_set.label_observed_at
    group by training_set.transaction_id

),

final as (

    select
        training_set.transaction_id,
        training_set.is_fraud,
        training_set.fraud_reported_at,
        known_reports.first_reported_at as expected_fraud_reported_at
    from training_set
    left join known_reports
        on training_set.transaction_id = known_reports.transaction_id
    where training_set.is_fraud is distinct from (known_reports.first_reported_at is not null)
        or training_set.fraud_reported_at
        is distinct from known_reports.first_reported_at

)

select * from final
