{#-
    Post-hook of check_source_fingerprint: after a successful build of an
    incremental model or a snapshot, record `fingerprint` (the source it read)
    for the relation in `pitstop_source_state`. Other materializations: nothing.
-#}
{% macro record_source_fingerprint(fingerprint) %}
    {%- if not execute or config.get('materialized') not in ('incremental', 'snapshot') -%}
        {{ return('') }}
    {%- endif -%}
    {%- set state = pitstop._source_state_relation() -%}
    {%- set key = (this.schema ~ '.' ~ this.identifier) | lower | replace("'", "''") -%}
    {%- do run_query(pitstop.create_source_state()) -%}
    {%- do run_query("delete from " ~ state ~ " where relation_name = '" ~ key ~ "'") -%}
    {%- do run_query("insert into " ~ state ~ " (relation_name, fingerprint, recorded_at)"
        ~ " values ('" ~ key ~ "', '" ~ fingerprint | replace("'", "''") ~ "', "
        ~ dbt.current_timestamp() ~ ")") -%}
    {{ return('') }}
{% endmacro %}
