{#- The `numbered` CTE of the generated window events (with its `digits`):
    i from 0 to n - 1, n at most 1,000, in portable SQL. -#}
{% macro window_test_numbers(n) %}
digits as (

    select * from (
        values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)
    ) as d (n)

),

numbered as (

    select ones.n + 10 * tens.n + 100 * hundreds.n as i
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
    where ones.n + 10 * tens.n + 100 * hundreds.n < {{ n }}

)
{%- endmacro %}
