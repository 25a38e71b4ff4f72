{{ window_test_aggregates('seeded', none, with_spine=false) }}
