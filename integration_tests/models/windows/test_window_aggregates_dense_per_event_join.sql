{{ window_test_aggregates('dense', 'join', with_spine=false) }}
