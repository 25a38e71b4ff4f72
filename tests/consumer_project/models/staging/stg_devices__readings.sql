with

source as (

    select * from {{ ref('raw_device_readings') }}

),

renamed as (

    select
        cast(device_id as varchar) as device_id,
        cast(reading_at as timestamp) as reading_at,
        cast(temperature_c as double) as temperature_c,
        cast(battery_pct as integer) as battery_pct
    from source

)

select * from renamed
