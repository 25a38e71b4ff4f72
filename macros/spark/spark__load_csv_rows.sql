{#-
    Seeds on Spark, loaded with every value written as a typed SQL literal.
    dbt-spark's own loader (session method) binds values as text: an empty
    cell became the string 'None' instead of NULL, and timestamps that dbt
    had parsed were cut to milliseconds. This root-project macro takes
    precedence over the adapter's in dbt's dispatch (integration_tests/ adds
    pitstop to its `dispatch` search order). Same statement shape: one
    `insert ... values` per batch of get_batch_size() rows.
-#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set types = [] -%}
    {%- for col_name in agate_table.column_names -%}
        {%- do types.append(column_override.get(col_name,
            adapter.convert_type(agate_table, loop.index0))) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
            ({%- for value in row -%}
                cast({{ pitstop._spark_seed_literal(value) }} as {{ types[loop.index0] }})
                {{- ', ' if not loop.last }}
            {%- endfor -%}){{ ',' if not loop.last }}
            {% endfor -%}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.first -%}{%- do statements.append(sql) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(statements[0] if statements else '') }}
{% endmacro %}


{#- Private helper: one seed value as a Spark SQL literal (NULL, boolean,
    number, timestamp text with microseconds, or an escaped string; Spark
    string literals take backslash escapes). -#}
{% macro _spark_seed_literal(value) -%}
    {%- if value is none -%}
        null
    {%- elif value is boolean -%}
        {{ 'true' if value else 'false' }}
    {%- elif value is number -%}
        {{ value }}
    {%- elif value.strftime is defined -%}
        '{{ value.strftime('%Y-%m-%d %H:%M:%S.%f') }}'
    {%- else -%}
        '{{ value | string | replace('\\', '\\\\') | replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}
