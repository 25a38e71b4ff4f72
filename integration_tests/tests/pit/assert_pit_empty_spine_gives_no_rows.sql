select 'adapter' as impl, spine_id from {{ ref('pit_join_empty_spine') }}
union all
select 'default' as impl, spine_id from {{ ref('pit_join_empty_spine_default') }}
