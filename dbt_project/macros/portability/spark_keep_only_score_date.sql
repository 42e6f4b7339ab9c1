{#- Post-hook of lead_score_components on Spark: when the run's score date is
    the latest in `history`, drop every other date's partition, so the table
    holds the current breakdown only (on DuckDB the model is rebuilt whole).
    A backfill of an older date leaves the table as it was. -#}
{% macro spark_keep_only_score_date(history) -%}
    {%- if execute -%}
        {%- set latest = run_query(
            "select cast(max(score_date) as string) from " ~ history
        ).columns[0].values()[0] -%}
        {%- if latest is not none and latest <= score_date_text() -%}
            {%- do spark_drop_score_dates(this, "score_date <> cast('" ~ score_date_text() ~ "' as date)") -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
