{#-
    Private helper: an md5 hash of a row's state (the delete flag and the
    given columns). Each value is cast to a string and length-prefixed, and
    NULL gets its own marker, so the encoding is injective: two states hash
    alike only on an md5 collision. The `change_hash` output of
    scd2_from_events and the run detection of feature_history.
-#}
{% macro _scd2_state_hash(columns, deleted_expr=none) %}
    {%- set parts = [] -%}
    {%- if deleted_expr is not none -%}
        {%- do parts.append("case when " ~ deleted_expr ~ " then 'D' else 'L' end") -%}
    {%- endif -%}
    {%- for column in columns -%}
        {%- set text = "cast(" ~ column ~ " as " ~ dbt.type_string() ~ ")" -%}
        {%- do parts.append("coalesce('v' || cast(" ~ dbt.length(text) ~ " as "
            ~ dbt.type_string() ~ ") || ':' || " ~ text ~ ", 'n')") -%}
    {%- endfor -%}
    {%- if parts | length == 0 -%}{%- do parts.append("''") -%}{%- endif -%}
    {{ return(dbt.hash(parts | join(" || '|' || "))) }}
{% endmacro %}
