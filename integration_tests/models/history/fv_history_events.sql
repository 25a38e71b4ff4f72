select * from {{ ref('data_feature_history_events') }}
