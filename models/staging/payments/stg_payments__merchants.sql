{#- seeds load the raw tables in the default mode: build them first -#}
{%- if var('pitstop_data', 'seeds') == 'seeds' %}
-- depends_on: {{ ref('raw_merchants') }}
{%- endif %}

with

source as (

    select * from {{ source('payments', 'merchants') }}

),

renamed as (

    select
        cast(merchant_id as bigint) as merchant_id,
        merchant_name,
        merchant_category,
        country,
        risk_level,
        cast(onboarded_at as timestamp) as onboarded_at,
        cast(updated_at as timestamp) as updated_at
    from source

)

select * from renamed
