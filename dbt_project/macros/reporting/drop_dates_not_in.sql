{#- Post-hook of tables derived per score date from another table: delete the
    dates the source no longer has (e.g. after a full refresh of history).
    Renders nothing on a full refresh or before the table exists. -#}
{% macro drop_dates_not_in(source) -%}
    {{ return(adapter.dispatch('drop_dates_not_in', 'leadscore')(source)) }}
{%- endmacro %}

{#- Spark: drop the stale dates' partitions (no DELETE on Parquet tables). -#}
{% macro spark__drop_dates_not_in(source) -%}
    {%- if execute and not flags.FULL_REFRESH and load_relation(this) is not none -%}
        {%- do spark_drop_score_dates(
            this, "score_date not in (select distinct source_dates.score_date from " ~ source ~ " as source_dates)"
        ) -%}
    {%- endif -%}
{%- endmacro %}

{% macro default__drop_dates_not_in(source) -%}
    {%- if execute and not flags.FULL_REFRESH and load_relation(this) is not none -%}
        delete from {{ this }}
        where score_date not in (select distinct source_dates.score_date from {{ source }} as source_dates)
    {%- endif -%}
{%- endmacro %}
