{{ dense_window_aggregates('frames', with_spine=false) }}
