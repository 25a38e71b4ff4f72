{%- for model in ['pit_join_empty_view', 'pit_join_empty_view_default'] %}
select '{{ model }}' as model, 'row count differs from the spine' as problem
where (select count(*) from {{ ref(model) }})
    != (select count(*) from {{ ref('data_point_in_time_join_spine') }})
union all
select '{{ model }}', 'a feature is not NULL'
from {{ ref(model) }}
where pit_empty_events__score is not null
    or pit_empty_events__tier is not null
    or pit_empty_events__is_deleted is not null
{{ 'union all' if not loop.last }}
{%- endfor %}
