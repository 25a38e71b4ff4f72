{#-
    Customer history (type 2) rebuilt from the CDC log. Incremental: each run
    reads the changes ingested since the last one (ingested_at >= the table's
    latest ingested_at) and rewrites the history of the customers they touch,
    so late and out-of-order changes land where they belong. Deleted periods
    are kept as tombstone intervals (is_deleted true, attributes NULL).
-#}
{{ pitstop.scd2_from_events(
    ref('stg_payments__customer_changes'),
    keys='customer_id',
    updated_at='changed_at',
    columns=['tier', 'country', 'credit_limit'],
    delete_flag='is_deleted',
    tiebreak=['ingested_at', 'change_id'],
    loaded_at='ingested_at',
    keep_deletes=true,
) }}
