{#- Post-hook of lead_score_components on Spark: unless the run is a backfill
    of a date older than the latest in lead_score_history, drop every other
    date's partition, so the table holds the current breakdown only (on
    DuckDB the model is rebuilt whole). A backfill leaves the table as it was. -#}
{% macro spark_keep_only_score_date() -%}
    {%- if execute and not score_date_is_backfill() -%}
        {%- do spark_drop_score_dates(this, "score_date <> cast('" ~ score_date_text() ~ "' as date)") -%}
    {%- endif -%}
{%- endmacro %}
