{#- the output comes in spine order: spine_id is ascending in the seed. DuckDB
    keeps the insertion order of tables; a Spark table has none to keep. -#}
{{ config(enabled=target.type != 'spark') }}
{%- for model in ['pit_join_events', 'pit_join_events_default'] %}
select '{{ model }}' as model, spine_id, previous_id
from (
    select spine_id, lag(spine_id) over () as previous_id from {{ ref(model) }}
)
where spine_id < previous_id
{{ 'union all' if not loop.last }}
{%- endfor %}
