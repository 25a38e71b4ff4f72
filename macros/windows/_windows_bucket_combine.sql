{#-
    Private helper of the buckets form: one aggregate from its prefix
    (columns `p` + part name) and suffix (`s` + part name) halves.
-#}
{% macro _windows_bucket_combine(function, p, s) %}
    {%- set add -%}
        case when {{ p }}sum is null then {{ s }}sum
            when {{ s }}sum is null then {{ p }}sum
            else {{ p }}sum + {{ s }}sum end
    {%- endset -%}
    {%- if function == 'count' -%}
        {{ return(p ~ 'count + ' ~ s ~ 'count') }}
    {%- elif function == 'sum' -%}
        {{ return(add) }}
    {%- elif function == 'avg' -%}
        {{ return('(' ~ add ~ ') / nullif(' ~ p ~ 'n + ' ~ s ~ 'n, 0)') }}
    {%- elif function == 'min' -%}
        {{ return('least(' ~ p ~ 'min, ' ~ s ~ 'min)') }}
    {%- elif function == 'max' -%}
        {{ return('greatest(' ~ p ~ 'max, ' ~ s ~ 'max)') }}
    {%- else -%}
        {{ return('cast(size(array_union(' ~ p ~ 'set, ' ~ s ~ 'set)) as bigint)') }}
    {%- endif -%}
{% endmacro %}
