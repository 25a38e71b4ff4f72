{{ window_test_aggregates('seeded', 'join', with_spine=false) }}
