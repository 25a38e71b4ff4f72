{#- every event's (customer, time), and the same shifted by exactly 10m and
    1h (the windows' edges: the event itself no longer counts); tied events
    make duplicate spine rows -#}
with

events as (

    select * from {{ ref('windows_dense_events') }}

)

select customer_id, event_at as spine_at from events
union all
select customer_id, {{ dbt.dateadd('second', 600, 'event_at') }} from events
union all
select customer_id, {{ dbt.dateadd('second', 3600, 'event_at') }} from events
