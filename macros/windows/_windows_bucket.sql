{#-
    Private helper of the buckets form: the bucket of `t_us` (microseconds,
    bigint) for buckets of `w_us`: floor(t_us / w_us) in integers, exact for
    negative (pre-1970) times too: t_us - pmod(t_us, w_us) is a multiple of
    w_us, so `div` (which truncates) divides it exactly.
-#}
{% macro _windows_bucket(t_us, w_us) %}
    {{- return('((' ~ t_us ~ ' - pmod(' ~ t_us ~ ', ' ~ w_us ~ ')) div ' ~ w_us ~ ')') -}}
{% endmacro %}
