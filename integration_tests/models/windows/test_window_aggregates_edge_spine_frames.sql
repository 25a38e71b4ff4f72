{{ window_test_aggregates('edge', 'frames', with_spine=true) }}
