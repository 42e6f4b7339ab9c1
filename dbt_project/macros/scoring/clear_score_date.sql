{#- Pre-hook of the incremental marts keyed on score_date: delete the rows of
    the score date being (re)built before the insert. delete+insert alone only
    deletes the dates present in the new batch, so a rescored date that now
    has no rows (e.g. no contact crosses the MQL threshold any more) would
    otherwise keep its stale rows. Renders nothing on the first build. -#}
{% macro clear_score_date() -%}
    {{ return(adapter.dispatch('clear_score_date', 'leadscore')()) }}
{%- endmacro %}

{% macro default__clear_score_date() -%}
    {%- if execute and not flags.FULL_REFRESH and load_relation(this) is not none -%}
        delete from {{ this }} where score_date = {{ score_date() }}
    {%- endif -%}
{%- endmacro %}

{#- Spark (Parquet tables have no DELETE): these marts are partitioned by
    score_date there (insert_overwrite); drop the date's partition. -#}
{% macro spark__clear_score_date() -%}
    {%- if execute and not flags.FULL_REFRESH and load_relation(this) is not none -%}
        alter table {{ this }} drop if exists partition (score_date = '{{ score_date_text() }}')
    {%- endif -%}
{%- endmacro %}
