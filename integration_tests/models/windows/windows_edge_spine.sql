{#- every edge event's (customer, time), the same + each window exactly (the
    event at t - w, on a bucket boundary when the event is on one: it no
    longer counts) and + each window - 1 microsecond (it still counts); tied
    events make duplicate spine rows; an unknown customer (empty windows)
    and NULL keys and times (NULL aggregates) -#}
with

events as (

    select customer_id, event_at from {{ ref('windows_edge_events') }}
    where customer_id is not null and event_at is not null

),

shifts as (

    select * from (
        values (0), (3600), (86400), (604800), (2592000), (129600)
    ) as s (seconds)

)

select events.customer_id, {{ dbt.dateadd('second', 'shifts.seconds', 'events.event_at') }} as spine_at
from events
cross join shifts
union all
select
    events.customer_id,
    {{ dbt.dateadd('microsecond', -1, dbt.dateadd('second', 'shifts.seconds', 'events.event_at')) }}
from events
cross join shifts
where shifts.seconds > 0
union all
select cast(99 as bigint), cast('1970-01-01 00:00:00' as timestamp)
union all
select cast(null as bigint), cast('1970-01-01 00:00:00' as timestamp)
union all
select cast(1 as bigint), cast(null as timestamp)
