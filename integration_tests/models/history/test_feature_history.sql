{{ pitstop.feature_history(ref('fv_history_events')) }}
