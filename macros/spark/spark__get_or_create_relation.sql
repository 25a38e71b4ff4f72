{#-
    Snapshots on Spark fail fast, before Spark is asked anything, with an
    error that names the missing piece. dbt-spark's snapshot materialization
    needs MERGE INTO, i.e. a Delta, Iceberg or Hudi table (`file_format`) whose
    jars must be on Spark's classpath; this project's `spark` target writes
    plain Parquet (the jars come from Maven, unreachable here), so the target
    leaves snapshots out of its default selection (selectors.yml). This hook is
    the first macro the snapshot materialization calls; every other relation
    goes straight to dbt's default.
-#}
{% macro spark__get_or_create_relation(database, schema, identifier, type) %}
    {%- if model is defined and model.resource_type == 'snapshot'
        and (config.get('file_format') or 'parquet') not in ('delta', 'iceberg', 'hudi') -%}
        {{ exceptions.raise_compiler_error(
            "snapshot '" ~ model.name ~ "' cannot run on this Spark target: dbt snapshots on "
            ~ "Spark need file_format delta, iceberg or hudi (MERGE INTO) and that format's jars "
            ~ "on Spark's classpath (e.g. io.delta:delta-spark from Maven), but the target "
            ~ "writes '" ~ (config.get('file_format') or 'parquet') ~ "'. The spark target "
            ~ "skips snapshots by default (selectors.yml); merchant history on Spark comes "
            ~ "from merchant_risk_history (scd2_from_events). See the README, section "
            ~ "'Scaling out on Spark'.") }}
    {%- endif -%}
    {{ return(dbt.default__get_or_create_relation(database, schema, identifier, type)) }}
{% endmacro %}
