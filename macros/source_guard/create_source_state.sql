{#-
    The DDL of the source-state table (`pitstop_source_state` in the target
    schema), idempotent. Run it as an on-run-start hook so that the table
    exists before models build in parallel; check_source_fingerprint and
    record_source_fingerprint also create it when it is missing.
-#}
{% macro create_source_state() %}
    {%- set relation = pitstop._source_state_relation() -%}
    {%- if execute -%}{%- do adapter.create_schema(relation) -%}{%- endif -%}
    create table if not exists {{ relation }} (
        relation_name {{ dbt.type_string() }},
        fingerprint {{ dbt.type_string() }},
        recorded_at {{ dbt.type_timestamp() }}
    )
{% endmacro %}
