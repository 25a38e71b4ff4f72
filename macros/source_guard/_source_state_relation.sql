{#- Private: the table `pitstop_source_state` in the target schema, one row per
    guarded relation with the source fingerprint of its last successful build. -#}
{% macro _source_state_relation() %}
    {#- target.get: Spark targets have no `database` -#}
    {{ return(api.Relation.create(database=target.get('database'), schema=target.schema,
        identifier='pitstop_source_state', type='table')) }}
{% endmacro %}
