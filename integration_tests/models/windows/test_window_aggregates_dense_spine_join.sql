{{ dense_window_aggregates('join', with_spine=true) }}
