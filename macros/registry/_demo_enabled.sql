{#-
    Private: true when the demo's resources (models, seeds, snapshots, tests,
    analyses) and hooks are on: always when Pitstop is the root project, and in
    a project that installs Pitstop as a package only when it sets var
    `pitstop_demo: true`. In hooks, macros and YAML configs `project_name` is
    the root project's name (dbt_project.yml configs cannot see it), so the
    demo's YAML files repeat the same test as `config: enabled:`.
-#}
{% macro _demo_enabled() %}
    {{ return(project_name == 'pitstop' or var('pitstop_demo', false) in (true, 'true')) }}
{% endmacro %}
