{#- Spark only: disabled, and not rendered, on other targets -#}
{{ config(enabled=target.type == 'spark') }}
{% if target.type == 'spark' -%}
{{ window_test_aggregates('dense', 'buckets', with_spine=false) }}
{%- endif %}
