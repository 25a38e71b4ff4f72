select 'duckdb' as impl, * from {{ ref('pit_join_empty_spine') }}
union all by name
select 'default' as impl, * from {{ ref('pit_join_empty_spine_default') }}
