{{ pitstop.feature_history(
    ref('fv_history_scd2'),
    features=['is_deleted', 'tier', 'credit_limit'],
) }}
