select * from {{ ref('data_point_in_time_join_account_balances') }}
