with

snapshot as (

    select * from {{ ref('merchants_snapshot') }}

),

final as (

    select
        merchant_id,
        dbt_valid_from,
        dbt_valid_to,
        risk_level,
        risk_level = 'high' as is_high_risk,
        merchant_category,
        country as merchant_country
    from snapshot

)

select * from final
