-- Device health windows as of each reading, with Pitstop's window macro.
with

readings as (

    select * from {{ ref('stg_devices__readings') }}

),

windowed as (

    {{ pitstop.window_aggregates(
        events='readings',
        keys='device_id',
        event_timestamp='reading_at',
        windows=['1h', '24h'],
        aggregates=['count', 'max(temperature_c)', 'min(battery_pct)'],
    ) | indent(4) }}

),

final as (

    select * from windowed

)

select * from final
