{#-
    Registry lookup at compile time: the feature-view contract of a model, read
    from `config.meta.pitstop` in the graph and resolved against the entities
    declared in var `pitstop_entities`. The Python registry
    (python/pitstop/registry.py) validates the same contract with the same rules
    and names; this macro only resolves it, raising a compiler error naming
    `caller_name` when the model is not a feature view.

    `view` is a model name or a relation returned by ref(). Returns a dict:
      name, relation, entity, key_columns (list), timestamp, created_timestamp (or none),
      ttl_seconds (or none), kind (event | scd2 | snapshot), valid_to (or none),
      online, features (list of feature column names, in YAML order).
    Outside execution (parsing) the graph is incomplete: returns none.
-#}
{% macro _feature_view(view, caller_name='pitstop') %}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set name = view if view is string else view.identifier -%}
    {%- set node = namespace(found=none) -%}
    {%- for n in graph.nodes.values() -%}
        {%- if n.resource_type in ('model', 'snapshot', 'seed') and (n.name == name or n.alias == name) -%}
            {%- set node.found = n -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if node.found is none -%}
        {{ exceptions.raise_compiler_error(caller_name ~ ": '" ~ name ~ "' is not a model of this project") }}
    {%- endif -%}
    {%- set n = node.found -%}
    {%- set meta = (n.config.get('meta') or {}).get('pitstop') or n.meta.get('pitstop') -%}
    {%- if not meta -%}
        {{ exceptions.raise_compiler_error(caller_name ~ ": model '" ~ n.name
            ~ "' is not a feature view (it has no config.meta.pitstop)") }}
    {%- endif -%}
    {%- set entities = var('pitstop_entities', {}) -%}
    {%- if meta.get('entity') not in entities -%}
        {{ exceptions.raise_compiler_error(caller_name ~ ": model '" ~ n.name ~ "', field entity: '"
            ~ meta.get('entity') ~ "' is not declared in var pitstop_entities (known: "
            ~ (entities.keys() | list | join(', ')) ~ ")") }}
    {%- endif -%}
    {%- set keys = entities[meta.entity]['keys'] | map(attribute='name') | list -%}
    {%- set kind = meta.get('kind', 'event') -%}
    {%- set default_valid_to = {'scd2': 'valid_to', 'snapshot': 'dbt_valid_to'}.get(kind) -%}
    {%- set valid_to = meta.get('valid_to', default_valid_to) -%}
    {%- set non_features = keys + [meta.timestamp, meta.get('created_timestamp'), valid_to] -%}
    {%- if meta.get('features') -%}
        {%- set features = meta.features -%}
    {%- else -%}
        {%- set features = [] -%}
        {%- for column in n.columns.keys() if column not in non_features -%}
            {%- do features.append(column) -%}
        {%- endfor -%}
    {%- endif -%}
    {#- a string name resolves without ref(), which would need a depends_on comment;
        pass ref('<view>') instead to record lineage -#}
    {%- set relation = view if view is not string else api.Relation.create(
        database=n.database, schema=n.schema, identifier=n.alias or n.name) -%}
    {{ return({
        'name': n.name,
        'relation': relation,
        'entity': meta.entity,
        'key_columns': keys,
        'timestamp': meta.timestamp,
        'created_timestamp': meta.get('created_timestamp'),
        'ttl_seconds': pitstop._ttl_seconds(meta.get('ttl'), n.name),
        'kind': kind,
        'valid_to': valid_to,
        'online': meta.get('online', false),
        'features': features,
    }) }}
{% endmacro %}
