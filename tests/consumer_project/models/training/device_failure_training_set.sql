-- One row per inspection with the device health known just before it.
{%- set service = (config.get('meta') or {}).get('pitstop', {}).get('training_set', {}) %}
-- depends_on: {{ ref('device_health') }}

with

inspections as (

    select * from {{ ref('raw_device_inspections') }}

),

spine as (

    select
        inspection_id,
        device_id,
        inspected_at,
        is_failed
    from inspections

),

final as (

    {{ pitstop.point_in_time_join(
        spine='spine',
        spine_timestamp='inspected_at',
        features=service.get('features', []),
    ) | indent(4) }}

)

select * from final
