{#- the window columns are listed from the spec: `* exclude` is DuckDB-only -#}
{%- set spec = pitstop.customer_spend_windows() -%}
{%- set window_columns = [] -%}
{%- for window in spec.windows -%}
    {%- for aggregate in spec.aggregates -%}
        {%- do window_columns.append(aggregate.name ~ '_' ~ window) -%}
    {%- endfor -%}
{%- endfor %}

with

transactions as (

    select * from {{ ref('stg_payments__transactions') }}

),

windowed as (

    {{ pitstop.window_aggregates(
        events='transactions',
        **spec
    ) | indent(4) }}

),

final as (

    select
        customer_id,
        as_of_at,
        as_of_at as last_transaction_at,
        {{ window_columns | join(',\n        ') }}
    from windowed

)

select * from final
