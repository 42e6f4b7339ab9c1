{#- on-run-end: record every dbt invocation that ran a model, whoever started
    it (the orchestrator, an analyst's `dbt build`, a `--full-refresh`), with
    the score date it ran for and the next scored date, which the marts
    comparing a date with its predecessor rebuild with it. Publishing reads it
    to know which score dates of the history tables may have changed since
    the last publish (see orchestration/publish.py); the orchestrator's own
    record of complete builds stays in audit.dbt_builds. -#}
{% macro record_dbt_run(results) -%}
    {%- if execute -%}
        {%- set models = [] -%}
        {%- for result in results if result.node.resource_type == 'model' -%}
            {%- do models.append(result.node.name) -%}
        {%- endfor -%}
        {%- if models -%}
            {%- set audit = api.Relation.create(database=target.get('database'), schema='audit', identifier='dbt_runs') -%}
            {%- do adapter.create_schema(audit) -%}
            {%- call statement('create_dbt_runs', auto_begin=False) -%}
                create table if not exists {{ audit }} (
                    invocation_id {{ dbt.type_string() }},
                    score_date date,
                    is_full_refresh {{ dbt.type_boolean() }},
                    models {{ dbt.type_string() }},
                    recorded_at {{ dbt.type_timestamp() }}
                )
            {%- endcall -%}
            {#- the marts that compare a date with the previous scored one also
                rebuild the next scored date (rebuilt_score_dates): one row per
                date the invocation may have rewritten -#}
            {%- set found = namespace(history=none) -%}
            {%- for node in graph.nodes.values()
                if node.resource_type == 'model' and node.name == 'lead_score_history' -%}
                {%- set found.history = load_relation(api.Relation.create(
                    database=node.database, schema=node.schema, identifier=node.alias
                )) -%}
            {%- endfor %}
            insert into {{ audit }}
            select
                '{{ invocation_id }}',
                rebuilt.score_date,
                {{ 'true' if flags.FULL_REFRESH else 'false' }},
                '{{ models | sort | join(",") }}',
                cast({{ dbt.current_timestamp() }} as {{ dbt.type_timestamp() }})
            {% if found.history is none -%}
            from (select {{ score_date() }} as score_date) as rebuilt
            {%- else -%}
            from ({{ rebuilt_score_dates(found.history) }}) as rebuilt
            {%- endif %}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
