with

transactions as (

    select * from {{ ref('stg_payments__transactions') }}

),

windowed as (

    {{ pitstop.window_aggregates(
        events='transactions',
        **pitstop.customer_spend_windows()
    ) | indent(4) }}

),

final as (

    select
        customer_id,
        as_of_at,
        as_of_at as last_transaction_at,
        * exclude (customer_id, as_of_at)
    from windowed

)

select * from final
