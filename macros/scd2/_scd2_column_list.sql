{#-
    Private helper shared by the history macros (scd2/, windows/, history/):
    normalise a column argument that may be a single name or a list of names
    into a list, raising a compiler error naming the macro and the argument
    when it is empty or not made of strings.
-#}
{% macro _scd2_column_list(value, macro_name, argument, allow_empty=false) %}
    {%- if value is none -%}
        {%- set names = [] -%}
    {%- elif value is string -%}
        {%- set names = [value] -%}
    {%- elif value is iterable and value is not mapping -%}
        {%- set names = value | list -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error(macro_name ~ ": `" ~ argument
            ~ "` must be a column name or a list of column names, got " ~ value) }}
    {%- endif -%}
    {%- if not allow_empty and names | length == 0 -%}
        {{ exceptions.raise_compiler_error(macro_name ~ ": `" ~ argument
            ~ "` must name at least one column") }}
    {%- endif -%}
    {%- for name in names if name is not string or name | trim == '' -%}
        {{ exceptions.raise_compiler_error(macro_name ~ ": `" ~ argument
            ~ "` holds a value that is not a column name: " ~ name) }}
    {%- endfor -%}
    {{ return(names) }}
{% endmacro %}


{#- Private helper: the names quoted as identifiers, in order. -#}
{% macro _scd2_quoted(names) %}
    {%- set quoted = [] -%}
    {%- for name in names -%}{%- do quoted.append(adapter.quote(name)) -%}{%- endfor -%}
    {{ return(quoted) }}
{% endmacro %}
