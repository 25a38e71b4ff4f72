with

transactions as (

    select * from {{ ref('stg_payments__transactions') }}

),

daily as (

    select
        merchant_id,
        {{ dbt.date_trunc('day', 'transacted_at') }} as activity_day,
        count(*) as transaction_count_1d,
        sum(amount) as amount_sum_1d,
        avg(amount) as amount_avg_1d,
        max(amount) as amount_max_1d,
        count(distinct customer_id) as customer_count_1d
    from transactions
    group by merchant_id, {{ dbt.date_trunc('day', 'transacted_at') }}

),

final as (

    select
        merchant_id,
        -- a day's statistics are known only once the day is over
        {{ dbt.dateadd('day', 1, 'activity_day') }} as window_end_at,
        transaction_count_1d,
        amount_sum_1d,
        amount_avg_1d,
        amount_max_1d,
        customer_count_1d
    from daily

)

select * from final
