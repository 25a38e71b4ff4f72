{#-
    The incremental form, loaded one batch at a time: run it with
    `--vars '{scd2_batch: 1}'`, then 2, then 3 (see tests/test_scd2_properties.py);
    after the last batch it must equal the full rebuild. Without the var it
    loads every batch at once. Not on Spark: dbt-spark has no delete+insert on
    Parquet tables (the demo's history is a full table there).
-#}
{{ config(materialized='incremental', unique_key='customer_id',
    incremental_strategy='delete+insert', enabled=target.type != 'spark') }}

with

arrived as (

    select * from {{ ref('data_scd2_from_events') }}
    where batch <= {{ var('scd2_batch', 99) | int }}

)

select * from (
    {{ pitstop.scd2_from_events(
        'arrived',
        keys='customer_id',
        updated_at='changed_at',
        columns=['tier', 'credit_limit'],
        delete_flag='is_deleted',
        tiebreak=['ingested_at', 'change_id'],
        loaded_at='ingested_at',
        keep_deletes=true,
    ) }}
) as history
