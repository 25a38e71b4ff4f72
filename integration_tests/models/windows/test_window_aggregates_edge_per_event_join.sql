{{ window_test_aggregates('edge', 'join', with_spine=false) }}
