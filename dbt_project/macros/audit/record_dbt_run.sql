{#- on-run-end: record every dbt invocation that ran a model, whoever started
    it (the orchestrator, an analyst's `dbt build`, a `--full-refresh`), with
    the score date it ran for and the next scored date, which the marts
    comparing a date with its predecessor rebuild with it. Publishing reads it
    to know which score dates of the history tables may have changed since
    the last publish (see orchestration/publish.py); the orchestrator's own
    record of complete builds stays in audit.dbt_builds. failed_nodes counts
    the invocation's nodes that errored, failed or were skipped: publishing
    refuses while an invocation after the last orchestrated build has any
    (a hand-run build that failed half-way left its marts half-built). -#}
{% macro record_dbt_run(results) -%}
    {%- if execute -%}
        {%- set models = [] -%}
        {%- set failed = [] -%}
        {%- for result in results -%}
            {%- if result.node.resource_type == 'model' -%}
                {%- do models.append(result.node.name) -%}
            {%- endif -%}
            {%- if result.status in ['error', 'fail', 'skipped', 'runtime error'] -%}
                {%- do failed.append(result.node.unique_id) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if models -%}
            {%- set audit = api.Relation.create(
                database=target.get('database'), schema='audit', identifier='dbt_runs', type='table'
            ) -%}
            {%- do adapter.create_schema(audit) -%}
            {%- call statement('create_dbt_runs', auto_begin=False) -%}
                create table if not exists {{ audit }} (
                    invocation_id {{ dbt.type_string() }},
                    score_date date,
                    is_full_refresh {{ dbt.type_boolean() }},
                    models {{ dbt.type_string() }},
                    recorded_at {{ dbt.type_timestamp() }},
                    failed_nodes {{ dbt.type_int() }}
                )
            {%- endcall -%}
            {#- a table from before failed_nodes gets the column (its rows: null) -#}
            {%- do leadscore.add_failed_nodes_column(audit) -%}
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
                cast({{ dbt.current_timestamp() }} as {{ dbt.type_timestamp() }}),
                {{ failed | length }}
            {% if found.history is none -%}
            from (select {{ score_date() }} as score_date) as rebuilt
            {%- else -%}
            from ({{ rebuilt_score_dates(found.history) }}) as rebuilt
            {%- endif %}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{#- Adds audit.dbt_runs.failed_nodes to a table created before it existed. -#}
{% macro add_failed_nodes_column(relation) -%}
    {{ return(adapter.dispatch('add_failed_nodes_column', 'leadscore')(relation)) }}
{%- endmacro %}

{#- One statement outside a transaction: a query that opened one here would
    leave the hook's insert uncommitted. -#}
{% macro duckdb__add_failed_nodes_column(relation) -%}
    {%- call statement('add_failed_nodes_column', auto_begin=False) -%}
        alter table {{ relation }} add column if not exists failed_nodes {{ dbt.type_int() }}
    {%- endcall -%}
{%- endmacro %}

{% macro default__add_failed_nodes_column(relation) -%}
    {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {%- if 'failed_nodes' not in columns -%}
        {%- do alter_relation_add_remove_columns(
            relation, [api.Column.create('failed_nodes', dbt.type_int())], none
        ) -%}
    {%- endif -%}
{%- endmacro %}
