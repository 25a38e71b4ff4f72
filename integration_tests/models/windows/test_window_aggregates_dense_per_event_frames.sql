{{ window_test_aggregates('dense', 'frames', with_spine=false) }}
