{#- seeds load the raw tables in the default mode: build them first -#}
{%- if var('pitstop_data', 'seeds') == 'seeds' %}
-- depends_on: {{ ref('raw_transactions') }}
{%- endif %}

with

source as (

    select * from {{ source('payments', 'transactions') }}

),

renamed as (

    select
        cast(transaction_id as bigint) as transaction_id,
        cast(customer_id as bigint) as customer_id,
        cast(merchant_id as bigint) as merchant_id,
        cast(amount as double) as amount,
        currency,
        cast(transacted_at as timestamp) as transacted_at,
        cast(ingested_at as timestamp) as ingested_at
    from source

)

select * from renamed
