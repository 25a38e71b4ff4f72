select * from {{ ref('test_scd2_from_events_tombstones') }}
