{#-
    Private helper of the frames form: `expr` (a timestamp) in microseconds
    since the epoch, the order of its stream. DuckDB: epoch_us; Spark:
    unix_micros (a timestamp_ntz is read in the session time zone, UTC on
    Pitstop's spark target).
-#}
{% macro _windows_epoch_us(expr) %}
    {{- return(adapter.dispatch('_windows_epoch_us', 'pitstop')(expr)) -}}
{% endmacro %}

{% macro default___windows_epoch_us(expr) %}
    {{ exceptions.raise_compiler_error("window_aggregates: the frames form has no epoch "
        ~ "function for adapter '" ~ adapter.type() ~ "'; use method='join'") }}
{% endmacro %}

{% macro duckdb___windows_epoch_us(expr) %}
    {{- return('epoch_us(' ~ expr ~ ')') -}}
{% endmacro %}

{% macro spark___windows_epoch_us(expr) %}
    {{- return('unix_micros(' ~ expr ~ ')') -}}
{% endmacro %}
