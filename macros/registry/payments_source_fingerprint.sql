{#-
    The demo's source fingerprint: which data the `payments` source reads,
    'seeds' or 'parquet:<pitstop_parquet_dir>'. Incremental models and
    snapshots record it (record_source_fingerprint) and refuse to add rows
    read from another source (check_source_fingerprint).
-#}
{% macro payments_source_fingerprint() %}
    {%- if var('pitstop_data', 'seeds') == 'parquet' -%}
        {{ return('parquet:' ~ var('pitstop_parquet_dir')) }}
    {%- endif -%}
    {{ return(var('pitstop_data', 'seeds')) }}
{% endmacro %}
