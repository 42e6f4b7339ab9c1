{#- The config of every table that keeps one set of rows per score date and
    replaces a date's rows when that date is scored again (lead_score_history,
    the flag history, the hand-offs, account scores, the score deciles):
    incremental, keyed on score_date (delete+insert on DuckDB; on Spark,
    Parquet partitions by score_date written with insert_overwrite). The
    pre-hook clears the dates the run rebuilds (macro clear_score_date),
    passed as a string so that dbt renders it when the model runs:

        {{ config(**by_score_date_config(pre_hook="{{ clear_score_date() }}")) }} -#}
{% macro by_score_date_config(pre_hook, post_hook=none) -%}
    {%- set settings = {
        'materialized': 'incremental',
        'incremental_strategy': ('insert_overwrite' if target.type == 'spark' else 'delete+insert'),
        'partition_by': (['score_date'] if target.type == 'spark' else none),
        'unique_key': 'score_date',
        'on_schema_change': 'append_new_columns',
        'pre_hook': pre_hook,
    } -%}
    {%- if post_hook is not none -%}
        {%- do settings.update({'post_hook': post_hook}) -%}
    {%- endif -%}
    {{- return(settings) -}}
{%- endmacro %}
