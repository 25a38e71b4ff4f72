{#-
    In `parquet` mode (var pitstop_data), expose the Parquet folders written by
    `python -m pitstop.datagen` as views in schema `raw_parquet`, so the
    `payments` source reads them with the same table names as the seeds.
    Runs as an on-run-start hook; emits nothing in `seeds` mode, and nothing
    in a project that installs Pitstop as a package (unless it turns the demo
    on with var pitstop_demo): package hooks run in the root project too.
-#}
{% macro register_parquet_sources() %}
    {%- if not pitstop._demo_enabled() -%}
        {{ return('') }}
    {%- elif var('pitstop_data', 'seeds') == 'parquet' and target.type == 'spark' -%}
        {#- Spark: one statement per call (a hook's text is one statement there),
            Parquet read by path; timestamps come back as `timestamp` (naive
            files read as UTC: spark.sql.parquet.inferTimestampNTZ.enabled is
            false on the spark target) -#}
        {%- if execute -%}
            {%- set folder = var('pitstop_parquet_dir') | replace('`', '') -%}
            {%- do run_query('create schema if not exists raw_parquet') -%}
            {%- for table in ['customer_changes', 'merchants', 'transactions', 'chargebacks'] -%}
                {%- do run_query('create or replace view raw_parquet.raw_' ~ table
                    ~ ' as select * from parquet.`' ~ folder ~ '/' ~ table ~ '`') -%}
            {%- endfor -%}
        {%- endif -%}
        {{ return('') }}
    {%- elif var('pitstop_data', 'seeds') == 'parquet' -%}
        {%- set folder = var('pitstop_parquet_dir') | replace("'", "''") -%}
        create schema if not exists raw_parquet;
        {% for table in ['customer_changes', 'merchants', 'transactions', 'chargebacks'] -%}
        create or replace view raw_parquet.raw_{{ table }} as
            select * from read_parquet('{{ folder }}/{{ table }}/*.parquet');
        {% endfor -%}
    {%- elif var('pitstop_data', 'seeds') != 'seeds' -%}
        {{ exceptions.raise_compiler_error(
            "register_parquet_sources: var pitstop_data must be 'seeds' or 'parquet', got '"
            ~ var('pitstop_data') ~ "'") }}
    {%- endif -%}
{% endmacro %}
