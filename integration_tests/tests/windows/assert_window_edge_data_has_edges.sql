{#- the comparisons of the edge models prove the bucket arithmetic only if,
    for every window w, the edge data holds: spine points exactly on a
    bucket boundary (a multiple of w since the epoch), an event exactly at
    t - w on a boundary (excluded) and at t (included), events 1
    microsecond before a boundary, and all of it before 1970 too (negative
    epoch microseconds); lists each window missing a case -#}
with

events as (

    select customer_id, {{ pitstop._windows_epoch_us('event_at') }} as t
    from {{ ref('windows_edge_events') }}
    where customer_id is not null and event_at is not null

),

points as (

    select distinct customer_id, {{ pitstop._windows_epoch_us('spine_at') }} as t
    from {{ ref('windows_edge_spine') }}
    where customer_id is not null and spine_at is not null

),

windows as (

    select cast(seconds as bigint) * 1000000 as w
    from (values (3600), (86400), (604800), (2592000), (129600)) as s (seconds)

),

cases as (

    select
        windows.w,
        count(distinct case when points.t % windows.w = 0 then points.t end)
            as points_on_boundary,
        count(distinct case when points.t % windows.w = 0 and points.t < 0 then points.t end)
            as points_on_boundary_pre_1970,
        count(distinct case when edge.t % windows.w = 0 then points.t end)
            as event_at_t_minus_w_on_boundary,
        count(distinct case when edge.t % windows.w = 0 and edge.t < 0 then points.t end)
            as event_at_t_minus_w_on_boundary_pre_1970,
        count(distinct case when (points.t + 1) % windows.w = 0 then points.t end)
            as points_1us_before_boundary
    from windows
    cross join points
    left join events as edge
        on points.customer_id = edge.customer_id and edge.t = points.t - windows.w
    group by windows.w

),

at_t as (

    select count(*) as events_at_t
    from points
    inner join events
        on points.customer_id = events.customer_id and points.t = events.t

),

off_boundary as (

    select count(*) as events_1us_before_hour
    from events
    where (events.t + 1) % 3600000000 = 0 and events.t < 0

)

select cases.*, at_t.events_at_t, off_boundary.events_1us_before_hour
from cases
cross join at_t
cross join off_boundary
where cases.points_on_boundary = 0
    or cases.points_on_boundary_pre_1970 = 0
    or cases.event_at_t_minus_w_on_boundary = 0
    or cases.event_at_t_minus_w_on_boundary_pre_1970 = 0
    or cases.points_1us_before_boundary = 0
    or at_t.events_at_t = 0
    or off_boundary.events_1us_before_hour = 0
