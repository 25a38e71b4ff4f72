{#-
    Private helper of window_aggregates: validate `windows` and `aggregates`
    and return {'windows': [{'label', 'seconds'}], 'aggregates': [{'function',
    'column' (or none), 'name'}], 'value_columns': [distinct columns]}.
    An aggregate is a dict {function, column, name} or a string such as
    'count', 'sum(amount)' or 'count_distinct(merchant_id)'.
-#}
{% macro _windows_parse(windows, aggregates, macro_name) %}
    {%- set functions = ['count', 'sum', 'avg', 'min', 'max', 'count_distinct'] -%}
    {%- if windows is string or windows is none or windows | length == 0 -%}
        {{ exceptions.raise_compiler_error(macro_name ~ ": `windows` must be a non-empty list "
            ~ "of durations such as ['1h', '24h', '7d', '30d']") }}
    {%- endif -%}
    {%- set parsed_windows = [] -%}
    {%- set labels = [] -%}
    {%- for window in windows -%}
        {%- set seconds = pitstop._ttl_seconds(window,
            model.name if model is defined and model.name is defined else '?',
            macro_name ~ ' windows') -%}
        {%- if seconds is none or seconds <= 0 -%}
            {{ exceptions.raise_compiler_error(macro_name ~ ": `windows` holds '" ~ window
                ~ "', which is not a positive duration") }}
        {%- endif -%}
        {%- set label = window | string | trim | lower -%}
        {%- if label in labels -%}
            {{ exceptions.raise_compiler_error(macro_name ~ ": `windows` lists '" ~ label
                ~ "' twice") }}
        {%- endif -%}
        {%- do labels.append(label) -%}
        {%- do parsed_windows.append({'label': label, 'seconds': seconds}) -%}
    {%- endfor -%}
    {%- if aggregates is string or aggregates is none or aggregates | length == 0 -%}
        {{ exceptions.raise_compiler_error(macro_name ~ ": `aggregates` must be a non-empty list "
            ~ "such as ['count', 'sum(amount)', {'function': 'max', 'column': 'amount'}]") }}
    {%- endif -%}
    {%- set parsed = [] -%}
    {%- set names = [] -%}
    {%- set value_columns = [] -%}
    {%- for agg in aggregates -%}
        {%- if agg is string -%}
            {%- set m = modules.re.fullmatch('\\s*(\\w+)\\s*(?:\\(\\s*(\\w*)\\s*\\))?\\s*', agg) -%}
            {%- if not m -%}
                {{ exceptions.raise_compiler_error(macro_name ~ ": `aggregates` holds '" ~ agg
                    ~ "'; write function or function(column), e.g. sum(amount)") }}
            {%- endif -%}
            {%- set agg = {'function': m.group(1), 'column': m.group(2) or none} -%}
        {%- elif agg is not mapping -%}
            {{ exceptions.raise_compiler_error(macro_name ~ ": `aggregates` holds " ~ agg
                ~ "; expected a string or a dict with function, column and name") }}
        {%- endif -%}
        {%- set function = (agg.get('function') or '') | lower -%}
        {%- set column = agg.get('column') -%}
        {%- if function not in functions -%}
            {{ exceptions.raise_compiler_error(macro_name ~ ": aggregate function '" ~ function
                ~ "' is not one of " ~ functions | join(', ')) }}
        {%- endif -%}
        {%- if column is none and function != 'count' -%}
            {{ exceptions.raise_compiler_error(macro_name ~ ": aggregate '" ~ function
                ~ "' needs a column") }}
        {%- endif -%}
        {%- set default_name = 'event_count' if column is none else column ~ '_' ~ function -%}
        {%- set name = agg.get('name') or default_name -%}
        {%- if name in names -%}
            {{ exceptions.raise_compiler_error(macro_name ~ ": two aggregates are named '" ~ name
                ~ "'; give one a `name`") }}
        {%- endif -%}
        {%- do names.append(name) -%}
        {%- if column is not none and column not in value_columns -%}
            {%- do value_columns.append(column) -%}
        {%- endif -%}
        {%- do parsed.append({'function': function, 'column': column, 'name': name}) -%}
    {%- endfor -%}
    {{ return({'windows': parsed_windows, 'aggregates': parsed, 'value_columns': value_columns}) }}
{% endmacro %}
