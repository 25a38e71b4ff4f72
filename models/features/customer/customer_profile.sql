with

changes as (

    select * from {{ ref('stg_payments__customer_changes') }}

),

final as (

    select
        customer_id,
        changed_at,
        ingested_at,
        is_deleted,
        tier,
        country,
        credit_limit
    from changes

)

select * from final
