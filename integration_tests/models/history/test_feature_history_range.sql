{{ pitstop.feature_history(
    ref('fv_history_events'),
    entities=ref('data_feature_history_entities'),
    start="timestamp '2025-01-02 12:00:00'",
    end="timestamp '2025-01-11 00:00:00'",
) }}
