{#- 400 generated events around the epoch (1969-12-01 to 1970-01-20, so
    pre-1970 and negative epoch microseconds), 80 % on customer 1, pairs
    tied on time, every 6 hours: most times sit exactly on bucket
    boundaries of the 1h, 24h, 7d, 30d and 1d12h windows (multiples of the
    window since the epoch), some 1 microsecond before or after one; NULL
    amounts and merchants, and a row with a NULL key and one with a NULL
    time (both ignored) -#}
with

{{ window_test_numbers(400) }},

generated as (

    select
        i as event_id,
        cast(case when i % 10 < 8 then 1 else 2 + i % 3 end as bigint) as customer_id,
        {{ dbt.dateadd('microsecond', 'case i % 7 when 5 then -1 when 6 then 1 else 0 end',
            dbt.dateadd('second', '(i - i % 2) * 10800',
                "cast('1969-12-01 00:00:00' as timestamp)")) }} as event_at,
        case when i % 7 = 0 then null else cast(i % 13 as double) - 4.75 end as amount,
        cast(case when i % 11 = 0 then null else i % 6 end as bigint) as merchant_id
    from numbered

)

select * from generated
union all
select
    1000, cast(null as bigint), cast('1970-01-01 00:00:00' as timestamp), 1.0, cast(1 as bigint)
union all
select 1001, cast(1 as bigint), cast(null as timestamp), 1.0, cast(1 as bigint)
