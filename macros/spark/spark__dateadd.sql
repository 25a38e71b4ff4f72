{#-
    dbt.dateadd on Spark, exact to the microsecond and NULL-safe. dbt-spark's
    own spark__dateadd goes through to_unix_timestamp(), which drops the
    fraction of a second (and adds 0 for 'microsecond'), so TTL edges,
    windows and `t - 1 microsecond` came out wrong by up to a second. This
    root-project macro takes precedence over the adapter's in dbt's dispatch
    (a package using pitstop adds it to its `dispatch` search order, as
    integration_tests/ does). timestampadd() is Spark SQL since 3.3:
    https://spark.apache.org/docs/latest/api/sql/index.html#timestampadd
-#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) %}
    {%- set units = ['year', 'quarter', 'month', 'week', 'day', 'hour', 'minute', 'second',
        'millisecond', 'microsecond'] -%}
    {%- set unit = datepart | string | trim | lower -%}
    {%- if unit not in units -%}
        {{ exceptions.raise_compiler_error("dateadd: datepart '" ~ datepart
            ~ "' is not supported on Spark (supported: " ~ units | join(', ') ~ ")") }}
    {%- endif -%}
    timestampadd({{ unit | upper }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}
