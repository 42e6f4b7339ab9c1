{#- Post-hook of tables derived per score date from another table: delete the
    dates the source no longer has (e.g. after a full refresh of history).
    Renders nothing on a full refresh or before the table exists. -#}
{% macro drop_dates_not_in(source) -%}
    {%- if execute and not flags.FULL_REFRESH and load_relation(this) is not none -%}
        delete from {{ this }}
        where score_date not in (select distinct source_dates.score_date from {{ source }} as source_dates)
    {%- endif -%}
{%- endmacro %}
