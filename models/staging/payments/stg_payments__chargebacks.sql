{#- seeds load the raw tables in the default mode: build them first -#}
{%- if var('pitstop_data', 'seeds') == 'seeds' %}
-- depends_on: {{ ref('raw_chargebacks') }}
{%- endif %}

with

source as (

    select * from {{ source('payments', 'chargebacks') }}

),

renamed as (

    select
        cast(chargeback_id as bigint) as chargeback_id,
        cast(transaction_id as bigint) as transaction_id,
        reason_code,
        cast(reported_at as timestamp) as reported_at
    from source

)

select * from renamed
