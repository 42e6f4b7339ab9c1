{#- True when the run's score date is older than the latest date that
    lead_score_history already holds: a backfill. lead_score_components then
    keeps its rows (it shows the latest date, like lead_scores), and the top
    reasons of the backfilled date are computed from int_scoring__score_components
    instead of read from that mart. False at parse time, in a first build
    (no history yet), and in a `--full-refresh` that rebuilds history (which
    then holds this date only).

    Asked before this run writes history (lead_score_components and the top
    reasons are built before it), so the latest date is the previous runs'.
    The table is found through the graph, not ref(): the models that ask are
    upstream of lead_score_history, and a ref would make a cycle. -#}
{% macro score_date_is_backfill() -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set latest = latest_history_score_date() -%}
    {{ return(latest is not none and score_date_text() < latest) }}
{%- endmacro %}

{#- The latest score date lead_score_history holds before this run writes it,
    as text (YYYY-MM-DD); none at parse time, in a first build, and in a
    `--full-refresh` that rebuilds history. -#}
{% macro latest_history_score_date() -%}
    {%- set history = previous_lead_score_history() -%}
    {%- if history is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(run_query(
        "select cast(max(score_date) as " ~ dbt.type_string() ~ ") from " ~ history
    ).columns[0].values()[0]) }}
{%- endmacro %}

{#- The lead_score_history relation as the previous runs left it; none at
    parse time, when it does not exist yet, and in a `--full-refresh` that
    rebuilds it. -#}
{% macro previous_lead_score_history() -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set nodes = graph.nodes.values()
        | selectattr('resource_type', 'equalto', 'model')
        | selectattr('name', 'equalto', 'lead_score_history')
        | list -%}
    {%- if nodes | length != 1 -%}
        {{ exceptions.raise_compiler_error("previous_lead_score_history: no single model lead_score_history in the graph") }}
    {%- endif -%}
    {#- A full refresh that rebuilds history leaves it holding this date only. -#}
    {%- if flags.FULL_REFRESH and nodes[0].unique_id in selected_resources
        and nodes[0].config.full_refresh is not false -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(adapter.get_relation(
        database=nodes[0].database, schema=nodes[0].schema, identifier=nodes[0].alias
    )) }}
{%- endmacro %}
