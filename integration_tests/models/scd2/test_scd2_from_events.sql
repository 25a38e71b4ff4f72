{{ pitstop.scd2_from_events(
    ref('data_scd2_from_events'),
    keys='customer_id',
    updated_at='changed_at',
    columns=['tier', 'credit_limit'],
    delete_flag='is_deleted',
    tiebreak=['ingested_at', 'change_id'],
    loaded_at='ingested_at',
) }}
