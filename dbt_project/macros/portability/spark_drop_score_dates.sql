{#- Spark: Parquet tables have no DELETE, so the marts kept per score date are
    partitioned by score_date there. Drop the partitions of `relation` whose
    score_date satisfies `condition` (SQL over the column score_date). -#}
{% macro spark_drop_score_dates(relation, condition) -%}
    {%- set dates = run_query(
        "select distinct cast(score_date as string) from " ~ relation ~ " where " ~ condition
    ).columns[0].values() -%}
    {%- for date in dates -%}
        {%- do run_query("alter table " ~ relation ~ " drop if exists partition (score_date = '" ~ date ~ "')") -%}
    {%- endfor -%}
{%- endmacro %}
