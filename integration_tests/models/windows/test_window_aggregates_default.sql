{#- the portable range-join form (method='join', what default__ emits):
    must equal the expected rows, as the adapter's form must -#}
{{ window_test_aggregates('seeded', 'join', with_spine=true) }}
