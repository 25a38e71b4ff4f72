with

history as (

    select * from {{ ref('int_customers_historized') }}

),

final as (

    select
        customer_id,
        valid_from,
        valid_to,
        ingested_at,
        is_deleted,
        tier,
        country,
        credit_limit
    from history

)

select * from final
