{#-
    The merchant risk attributes as type-2 history, built with scd2_from_events
    from the merchants table (one state per merchant, valid from its
    updated_at): on the spark target it stands in for merchant_risk_snapshot,
    whose dbt snapshot needs Delta, Iceberg or Hudi there. On data one snapshot
    run has seen, both hold the same intervals and values.
-#}
with

merchants as (

    select * from {{ ref('stg_payments__merchants') }}

),

history as (

    select * from (
        {{ pitstop.scd2_from_events(
            'merchants',
            keys='merchant_id',
            updated_at='updated_at',
            columns=['risk_level', 'merchant_category', 'country'],
        ) | indent(8) }}
    ) as scd2

),

final as (

    select
        merchant_id,
        valid_from,
        valid_to,
        risk_level,
        risk_level = 'high' as is_high_risk,
        merchant_category,
        country as merchant_country
    from history

)

select * from final
