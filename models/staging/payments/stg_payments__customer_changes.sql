{#- seeds load the raw tables in the default mode: build them first -#}
{%- if var('pitstop_data', 'seeds') == 'seeds' %}
-- depends_on: {{ ref('raw_customer_changes') }}
{%- endif %}

with

source as (

    select * from {{ source('payments', 'customer_changes') }}

),

renamed as (

    select
        cast(change_id as bigint) as change_id,
        cast(customer_id as bigint) as customer_id,
        lower(operation) as operation,  -- noqa: RF04
        lower(operation) = 'delete' as is_deleted,
        tier,
        country,
        cast(credit_limit as double) as credit_limit,
        cast(changed_at as timestamp) as changed_at,
        cast(ingested_at as timestamp) as ingested_at
    from source

)

select * from renamed
