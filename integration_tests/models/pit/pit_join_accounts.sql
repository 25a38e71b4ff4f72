{#- composite key, spine columns named differently, short output names -#}
{{ pitstop.point_in_time_join(
    spine=ref('data_point_in_time_join_account_spine'),
    spine_timestamp='observed_at',
    features=[{'view': 'pit_account_balances', 'features': ['balance'],
               'keys': {'bank_id': 'bank', 'account_no': 'account'}}],
    naming='short',
) }}
