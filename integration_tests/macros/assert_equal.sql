{#-
    Generic test: `model` and `compare_model` hold the same multiset of rows
    over `columns` (all columns of compare_model when omitted). Fails with the
    rows that are in one and not the other, tagged with where they were found.
-#}
{% test equal_rows(model, compare_model, columns=none) %}
    {%- if columns is none -%}
        {%- set columns = adapter.get_columns_in_relation(compare_model) | map(attribute='name') | list -%}
    {%- endif -%}
    {%- set cols = columns | map('string') | join(', ') -%}
    with
    actual as (select {{ cols }}, count(*) as n from {{ model }} group by all),
    expected as (select {{ cols }}, count(*) as n from {{ compare_model }} group by all),
    only_actual as (select 'actual only' as found, * from (select * from actual except all select * from expected)),
    only_expected as (select 'expected only' as found, * from (select * from expected except all select * from actual))
    select * from only_actual
    union all
    select * from only_expected
{% endtest %}
