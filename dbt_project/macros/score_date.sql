{#- The score date D as a SQL date literal. Every model that depends on "as of
    D" reads it from here, so a past date is reproducible from the same
    inputs: `dbt build --vars '{score_date: 2026-01-31}'`, or
    `LEADSCORE_SCORE_DATE=2026-01-31 dbt build` (what the orchestrator does).
    Empty: the run's UTC date.

    The environment variable is read only when dbt executes (`execute`), never
    while it parses: a date passed through `--vars` changes dbt's parse state
    and costs a full re-parse of the project on every run (8 s at each daily
    run), a date read at execution time keeps partial parsing. -#}
{% macro score_date() -%}
    cast('{{ score_date_text() }}' as date)
{%- endmacro %}

{#- The score date D as text, YYYY-MM-DD (validated). -#}
{% macro score_date_text() -%}
    {%- set raw = var('score_date', '') | string | trim -%}
    {%- if raw == '' and execute -%}
        {%- set raw = env_var('LEADSCORE_SCORE_DATE', '') | trim -%}
    {%- endif -%}
    {%- if raw == '' -%}
        {%- set raw = run_started_at.strftime('%Y-%m-%d') -%}
    {%- endif -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', raw) -%}
        {{ exceptions.raise_compiler_error("score date (var score_date or LEADSCORE_SCORE_DATE) must be YYYY-MM-DD, got '" ~ raw ~ "'") }}
    {%- endif -%}
    {{- raw -}}
{%- endmacro %}
