-- The failing row of entity_coverage names the view, the counts, the keys and
-- the reference model. Fails with one row per problem.
with

result as (

    {{ pitstop.test_entity_coverage(
        model=ref('data_entity_coverage_view'),
        to=ref('data_entity_coverage_reference'),
        keys=['bank_id', 'account_no'],
        to_keys=['bank', 'account'],
    ) | indent(4) }}

),

counted as (

    select count(*) as n_rows from result

),

final as (

    select 'wrong message: ' || failure as problem
    from result
    where failure != 'feature view data_entity_coverage_view has rows for 3 of the 4 '
        || 'bank_id, account_no of data_entity_coverage_reference'
        or feature_view != 'data_entity_coverage_view'
        or covered_keys != 3
        or expected_keys != 4
    union all
    select 'expected one failing row, got ' || n_rows as problem
    from counted
    where n_rows != 1

)

select * from final
