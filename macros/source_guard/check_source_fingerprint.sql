{#-
    Pre-hook guard for incremental models and snapshots: refuse to add rows
    read from another source than the one the existing table was built from.
    Switching the demo from seeds to Parquet (or to another Parquet folder)
    and building incrementally would otherwise keep the old history and add
    the new source's rows to it: silently wrong data.

    `fingerprint` names the source this run reads (a string, e.g.
    payments_source_fingerprint()). When the relation exists and its recorded
    fingerprint differs:
      - incremental model: a compiler error naming the model and saying to
        rebuild with --full-refresh; with --full-refresh (or config
        full_refresh: true) dbt rebuilds it and the guard passes;
      - snapshot (which --full-refresh does not rebuild): a compiler error,
        unless the run has --full-refresh, in which case the snapshot's rows
        are deleted so that it restarts its history from the new source.
    Other materializations, a missing relation or no recorded fingerprint
    (a table built before the guard) pass. Emits no SQL otherwise.
-#}
{% macro check_source_fingerprint(fingerprint) %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set kind = config.get('materialized') -%}
    {%- if kind not in ('incremental', 'snapshot') or load_relation(this) is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- set state = pitstop._source_state_relation() -%}
    {%- do run_query(pitstop.create_source_state()) -%}
    {%- set key = (this.schema ~ '.' ~ this.identifier) | lower -%}
    {%- set rows = run_query("select fingerprint from " ~ state ~ " where relation_name = '"
        ~ key | replace("'", "''") ~ "'") -%}
    {%- set recorded = rows.columns[0].values()[0] if rows | length > 0 else none -%}
    {%- if recorded is none or recorded == fingerprint -%}{{ return('') }}{%- endif -%}
    {%- if kind == 'incremental' -%}
        {%- if should_full_refresh() -%}{{ return('') }}{%- endif -%}
        {{ exceptions.raise_compiler_error("pitstop: incremental model '" ~ this.identifier
            ~ "' was built from source '" ~ recorded ~ "', but this run reads '" ~ fingerprint
            ~ "'; an incremental run would mix the two. Rebuild it with --full-refresh, e.g."
            ~ " dbt build --full-refresh (with the same --vars), or switch the source back.") }}
    {%- endif -%}
    {%- if flags.FULL_REFRESH -%}
        {{ log("pitstop: snapshot '" ~ this.identifier ~ "' held history captured from '"
            ~ recorded ~ "'; --full-refresh restarts it from '" ~ fingerprint ~ "'", info=true) }}
        {{ return('delete from ' ~ this) }}
    {%- endif -%}
    {{ exceptions.raise_compiler_error("pitstop: snapshot '" ~ this.identifier
        ~ "' holds history captured from source '" ~ recorded ~ "', but this run reads '"
        ~ fingerprint ~ "'; a snapshot run would mix the two. Run with --full-refresh to"
        ~ " restart its history from the new source (the old history is deleted), or switch"
        ~ " the source back.") }}
{% endmacro %}
