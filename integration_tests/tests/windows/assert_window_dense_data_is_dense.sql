{#- the frames-vs-join comparison of the dense models proves something only
    if the hot customer's windows are full and some are empty: 192 events in
    its fullest hour, and empty windows an hour after its last events -#}
with

hot as (

    select
        max(event_count_1h) as most_1h,
        max(merchant_id_count_distinct_1h) as most_merchants_1h,
        sum(case when event_count_1h = 0 then 1 else 0 end) as empty_1h
    from {{ ref('test_window_aggregates_dense_spine_frames') }}
    where customer_id = 1

)

select * from hot
where not (most_1h = 192 and most_merchants_1h = 5 and empty_1h > 0)
