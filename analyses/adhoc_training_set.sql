-- An ad-hoc training set: the point-in-time join over a hand-written spine.
-- `dbt compile --select adhoc_training_set` prints runnable SQL (also with
-- `dbt show --select adhoc_training_set`); data scientists start here.
with

spine as (

    select
        customer_id,
        merchant_id,
        transacted_at,
        amount
    from {{ ref('stg_payments__transactions') }}
    where transacted_at >= timestamp '2025-06-01'

),

final as (

    {{ pitstop.point_in_time_join(
        spine='spine',
        spine_timestamp='transacted_at',
        features=['customer_profile:tier', 'merchant_daily_stats:transaction_count_1d'],
    ) | indent(4) }}

)

select * from final
