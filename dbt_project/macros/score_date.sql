{#- The score date D as a SQL date literal. Every model that depends on "as of
    D" reads it from here, so a past date is reproducible from the same
    inputs: `dbt build --vars '{score_date: 2026-01-31}'`. -#}
{% macro score_date() -%}
    {%- set raw = var('score_date', '') | string | trim -%}
    {%- if raw == '' -%}
        {%- set raw = run_started_at.strftime('%Y-%m-%d') -%}
    {%- endif -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', raw) -%}
        {{ exceptions.raise_compiler_error("var score_date must be YYYY-MM-DD, got '" ~ raw ~ "'") }}
    {%- endif -%}
    cast('{{ raw }}' as date)
{%- endmacro %}
