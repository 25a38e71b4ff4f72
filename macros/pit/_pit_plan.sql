{#-
    Resolve the arguments of point_in_time_join into a plan: one dict per
    requested feature view, in the order first requested:
      alias, name, relation, kind, is_range, keys (list of {view, spine}),
      timestamp, created_timestamp, valid_to, ttl_seconds, late_filter,
      features (list of {column, output}).
    Every argument error is raised here, at compile time, naming the macro and
    the argument. Returns none while dbt parses (the graph is not complete yet).
-#}
{% macro _pit_plan(spine_timestamp, features, key_map, ttl, exclude_late_rows, naming,
                   spine_columns) %}
    {%- set me = 'point_in_time_join' -%}
    {%- if spine_timestamp is none or spine_timestamp is not string or spine_timestamp == '' -%}
        {{ exceptions.raise_compiler_error(me ~ ": spine_timestamp must name the spine's"
            ~ " timestamp column, got '" ~ spine_timestamp ~ "'") }}
    {%- endif -%}
    {%- if features is string or features is mapping or features is none
        or (features | length) == 0 -%}
        {{ exceptions.raise_compiler_error(me ~ ": features must be a non-empty list of"
            ~ " 'view', 'view:feature', ref('view') or {view: ..., features: [...]} items") }}
    {%- endif -%}
    {%- if naming not in ('prefixed', 'short') -%}
        {{ exceptions.raise_compiler_error(me ~ ": naming must be 'prefixed' or 'short', got '"
            ~ naming ~ "'") }}
    {%- endif -%}
    {%- if key_map is not none and key_map is not mapping -%}
        {{ exceptions.raise_compiler_error(me ~ ": key_map must map view names to"
            ~ " {view_key: spine_column} dicts") }}
    {%- endif -%}
    {%- if ttl is not none and ttl is not mapping -%}
        {{ exceptions.raise_compiler_error(me ~ ": ttl must map view names to a duration"
            ~ " such as '30d' (or none for no TTL)") }}
    {%- endif -%}
    {%- if exclude_late_rows not in (true, false) -%}
        {{ exceptions.raise_compiler_error(me ~ ": exclude_late_rows must be true or false,"
            ~ " got '" ~ exclude_late_rows ~ "'") }}
    {%- endif -%}

    {#- 1. normalise the items into (view, features or none for all, keys, ttl) requests -#}
    {%- set requests = [] -%}
    {%- for item in features -%}
        {%- set request = {'keys': none, 'has_ttl': false, 'ttl': none, 'features': none} -%}
        {%- if item is string -%}
            {%- set parts = item.split(':') -%}
            {%- if (parts | length) > 2 or parts[0] == '' -%}
                {{ exceptions.raise_compiler_error(me ~ ": features item '" ~ item
                    ~ "' is not 'view' or 'view:feature'") }}
            {%- endif -%}
            {%- do request.update({'view': parts[0]}) -%}
            {%- if (parts | length) == 2 -%}
                {%- do request.update({'features': [parts[1]]}) -%}
            {%- endif -%}
        {%- elif item.identifier is defined and item.identifier is not none -%}
            {%- do request.update({'view': item}) -%}
        {%- elif item is mapping -%}
            {%- if 'view' not in item -%}
                {{ exceptions.raise_compiler_error(me ~ ": features item " ~ item
                    ~ " has no 'view'") }}
            {%- endif -%}
            {%- for k in item.keys() if k not in ('view', 'features', 'keys', 'ttl') -%}
                {{ exceptions.raise_compiler_error(me ~ ": features item for '" ~ item.view
                    ~ "' has unknown field '" ~ k ~ "' (known: view, features, keys, ttl)") }}
            {%- endfor -%}
            {%- set fs = item.get('features') -%}
            {%- if fs is string -%}{%- set fs = [fs] -%}{%- endif -%}
            {%- do request.update({'view': item.view, 'features': fs,
                'keys': item.get('keys'), 'has_ttl': 'ttl' in item, 'ttl': item.get('ttl')}) -%}
        {%- else -%}
            {{ exceptions.raise_compiler_error(me ~ ": features item '" ~ item
                ~ "' is not 'view', 'view:feature', a relation or a dict") }}
        {%- endif -%}
        {%- do requests.append(request) -%}
    {%- endfor -%}

    {#- 2. merge requests per view and resolve them against the registry -#}
    {%- set plan = [] -%}
    {%- set by_name = {} -%}
    {%- for request in requests -%}
        {%- set view = request.view -%}
        {%- set name = view if view is string else view.identifier -%}
        {%- if name in by_name -%}
            {%- set entry = by_name[name] -%}
        {%- else -%}
            {#- ref() records the lineage of string names too -#}
            {%- set relation = ref(view) if view is string else view -%}
            {%- set fv = pitstop._feature_view(relation, me) -%}
            {%- set entry = {'fv': fv, 'all': false, 'features': [], 'keys': none,
                'has_ttl': false, 'ttl': none, 'relation': relation} -%}
            {%- do by_name.update({name: entry}) -%}
            {%- do plan.append(entry) -%}
        {%- endif -%}
        {%- if request.features is none -%}
            {%- do entry.update({'all': true}) -%}
        {%- else -%}
            {%- for f in request.features -%}
                {%- if f not in entry.fv.features -%}
                    {{ exceptions.raise_compiler_error(me ~ ": features: '" ~ f
                        ~ "' is not a feature of view '" ~ entry.fv.name ~ "' (features: "
                        ~ (entry.fv.features | join(', ')) ~ ")") }}
                {%- endif -%}
                {%- if f not in entry.features -%}{%- do entry.features.append(f) -%}{%- endif -%}
            {%- endfor -%}
        {%- endif -%}
        {%- if request['keys'] is not none -%}
            {%- do entry.update({'keys': request['keys']}) -%}
        {%- endif -%}
        {%- if request.has_ttl -%}
            {%- do entry.update({'has_ttl': true, 'ttl': request.ttl}) -%}
        {%- endif -%}
    {%- endfor -%}

    {%- for name in (key_map or {}).keys() if name not in by_name -%}
        {{ exceptions.raise_compiler_error(me ~ ": key_map names view '" ~ name
            ~ "', which is not among the requested features") }}
    {%- endfor -%}
    {%- for name in (ttl or {}).keys() if name not in by_name -%}
        {{ exceptions.raise_compiler_error(me ~ ": ttl names view '" ~ name
            ~ "', which is not among the requested features") }}
    {%- endfor -%}

    {#- 3. the final plan entries, with output names checked for collisions -#}
    {%- set result = [] -%}
    {%- set outputs = {} -%}
    {%- for column in (spine_columns or []) -%}
        {%- do outputs.update({column | lower: 'the spine'}) -%}
    {%- endfor -%}
    {%- for entry in plan -%}
        {%- set fv = entry.fv -%}
        {%- set mapping = entry['keys'] if entry['keys'] is not none
            else (key_map or {}).get(fv.name, {}) -%}
        {%- if mapping is not mapping -%}
            {{ exceptions.raise_compiler_error(me ~ ": keys of view '" ~ fv.name
                ~ "' must map its entity keys to spine columns, got '" ~ mapping ~ "'") }}
        {%- endif -%}
        {%- for k in mapping.keys() if k not in fv.key_columns -%}
            {{ exceptions.raise_compiler_error(me ~ ": key_map for view '" ~ fv.name ~ "' maps '"
                ~ k ~ "', which is not a key of entity '" ~ fv.entity ~ "' (keys: "
                ~ (fv.key_columns | join(', ')) ~ ")") }}
        {%- endfor -%}
        {%- set keys = [] -%}
        {%- for k in fv.key_columns -%}
            {%- do keys.append({'view': k, 'spine': mapping.get(k, k)}) -%}
        {%- endfor -%}
        {%- if entry.has_ttl -%}
            {%- set ttl_seconds = pitstop._ttl_seconds(entry.ttl, fv.name) -%}
        {%- elif fv.name in (ttl or {}) -%}
            {%- set ttl_seconds = pitstop._ttl_seconds(ttl[fv.name], fv.name) -%}
        {%- else -%}
            {%- set ttl_seconds = fv.ttl_seconds -%}
        {%- endif -%}
        {%- set is_range = fv.kind in ('scd2', 'snapshot') -%}
        {%- if fv.kind not in ('event', 'scd2', 'snapshot') -%}
            {{ exceptions.raise_compiler_error(me ~ ": view '" ~ fv.name ~ "' has kind '"
                ~ fv.kind ~ "'; supported kinds: event, scd2, snapshot") }}
        {%- endif -%}
        {%- set chosen = fv.features if entry.all else entry.features -%}
        {%- set fs = [] -%}
        {%- for f in chosen -%}
            {%- set output = (fv.name ~ '__' ~ f) if naming == 'prefixed' else f -%}
            {%- if (output | lower) in outputs -%}
                {{ exceptions.raise_compiler_error(me ~ ": naming: output column '" ~ output
                    ~ "' of view '" ~ fv.name ~ "' collides with a column of "
                    ~ outputs[output | lower] ~ "; use naming='prefixed' or fewer features") }}
            {%- endif -%}
            {%- do outputs.update({output | lower: "view '" ~ fv.name ~ "'"}) -%}
            {%- do fs.append({'column': f, 'output': output}) -%}
        {%- endfor -%}
        {%- do result.append({
            'alias': '__pit_v' ~ loop.index,
            'name': fv.name,
            'relation': entry.relation,
            'kind': fv.kind,
            'is_range': is_range,
            'keys': keys,
            'timestamp': fv.timestamp,
            'created_timestamp': fv.created_timestamp,
            'valid_to': fv.valid_to if is_range else none,
            'ttl_seconds': none if is_range else ttl_seconds,
            'late_filter': exclude_late_rows and fv.created_timestamp is not none,
            'features': fs,
            'all_features': fv.features,
        }) -%}
    {%- endfor -%}
    {{ return(result) }}
{% endmacro %}
