{#-
    The fraud training set holds every transaction old enough for a final
    label exactly once, and no younger one: the point-in-time join must keep
    every spine row, and the maturity rule (transacted at least
    fraud_label_maturity_days before fraud_label_observed_at) must hold.
    Fails with one row per missing, extra or repeated transaction.
-#}
{%- set observed_at = var('fraud_label_observed_at', '2025-07-01 00:00:00') -%}
{%- set maturity_days = var('fraud_label_maturity_days', 60) | int %}

with

transactions as (

    select * from {{ ref('stg_payments__transactions') }}

),

training_set as (

    select * from {{ ref('fraud_training_set') }}

),

mature as (

    select transaction_id
    from transactions
    where transacted_at
        <= {{ dbt.dateadd('day', -maturity_days, "timestamp '" ~ observed_at ~ "'") }}

),

training_rows as (

    select
        transaction_id,
        count(*) as n_rows
    from training_set
    group by transaction_id

),

final as (

    select
        coalesce(mature.transaction_id, training_rows.transaction_id) as transaction_id,
        mature.transaction_id is not null as is_mature,
        coalesce(training_rows.n_rows, 0) as n_training_rows
    from mature
    full outer join training_rows
        on mature.transaction_id = training_rows.transaction_id
    where mature.transaction_id is null
        or training_rows.transaction_id is null
        or training_rows.n_rows > 1

)

select * from final
