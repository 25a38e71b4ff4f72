{#- 1,000 generated events, 80 % of them on customer 1 (a hot entity, as in
    datagen's Pareto-skewed customers): pairs tied on time, 30 s apart, so a
    1h window holds ~100 of its events; NULL amounts and merchants; amounts
    in quarters, so sums and averages are exact on every engine and form -#}
with

{{ window_test_numbers(1000) }}

select
    i as event_id,
    cast(case when i % 10 < 8 then 1 else 2 + i % 3 end as bigint) as customer_id,
    {{ dbt.dateadd('second', '(i - i % 2) * 15', "cast('2025-01-01 00:00:00' as timestamp)") }}
        as event_at,
    case when i % 7 = 0 then null else cast(i % 13 as double) + 0.25 end as amount,
    cast(case when i % 11 = 0 then null else i % 5 end as bigint) as merchant_id
from numbered
