{#-
    Private: a duration in seconds, for TTLs, window lengths and lookbacks;
    none for no TTL (an absent or null value, or 'none'). The language, the
    same as pitstop.times.parse_ttl in Python (tests/data/durations.csv is the
    table of inputs both agree on):
      - one or more <digits><unit> segments, units s, m, h, d, w ('30d', '12h',
        '90m', '45s', '2w', '1d12h'), digits 0-9 only;
      - case-insensitive, surrounding blanks ignored ('1D', ' 30d ');
      - the total is positive and at most 10000 days (864000000 s): longer is
        "forever" in practice, and engines hold intervals in 32-bit seconds;
      - a bare number (`ttl: 7`, `ttl: "7"`) has no unit and is an error,
        as are booleans, fractions, signs and blanks inside.
    Errors are compiler errors naming `model_name` and `field`.
-#}
{% macro _ttl_seconds(ttl, model_name='?', field='ttl') %}
    {%- set max_seconds = 864000000 -%}
    {%- set where = "pitstop: model '" ~ model_name ~ "', field " ~ field ~ ": " -%}
    {%- set examples = "a duration like 30d, 12h, 90m, 45s, 2w or 1d12h" -%}
    {%- if ttl is none -%}{{ return(none) }}{%- endif -%}
    {%- if ttl is sameas true or ttl is sameas false or ttl is number -%}
        {{ exceptions.raise_compiler_error(where ~ ttl ~ " has no unit; write " ~ examples) }}
    {%- endif -%}
    {%- if ttl is not string -%}
        {{ exceptions.raise_compiler_error(where ~ ttl ~ " is not " ~ examples) }}
    {%- endif -%}
    {%- set text = ttl | trim | lower -%}
    {%- if text == 'none' -%}{{ return(none) }}{%- endif -%}
    {%- if not modules.re.fullmatch('([0-9]+[smhdw])+', text) -%}
        {{ exceptions.raise_compiler_error(where ~ "'" ~ ttl ~ "' is not " ~ examples
            ~ (" (a unit is required)" if modules.re.fullmatch('[0-9]+', text) else "")) }}
    {%- endif -%}
    {%- set units = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800} -%}
    {%- set total = namespace(s=0, too_long=false) -%}
    {%- for amount, unit in modules.re.findall('([0-9]+)([smhdw])', text) -%}
        {#- more than 9 significant digits exceed the cap in any unit: stop
            before building huge integers -#}
        {%- set digits = amount.lstrip('0') -%}
        {%- if digits | length > 9 -%}
            {%- set total.too_long = true -%}
        {%- else -%}
            {%- set total.s = total.s + (digits or '0') | int * units[unit] -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if total.too_long or total.s > max_seconds -%}
        {{ exceptions.raise_compiler_error(where ~ "'" ~ ttl
            ~ "' is longer than 10000d; use none for no TTL") }}
    {%- endif -%}
    {%- if total.s <= 0 -%}
        {{ exceptions.raise_compiler_error(where ~ "'" ~ ttl ~ "' must be longer than zero") }}
    {%- endif -%}
    {{ return(total.s) }}
{% endmacro %}
