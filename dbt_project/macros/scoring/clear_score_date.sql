{#- Pre-hook of the incremental marts keyed on score_date: delete the rows of
    the score date being (re)built before the insert. delete+insert alone only
    deletes the dates present in the new batch, so a rescored date that now
    has no rows (e.g. no contact crosses the MQL threshold any more) would
    otherwise keep its stale rows. Renders nothing on the first build.

    `history`: for the marts that compare a date with the previous scored
    one, the lead_score_history relation; they rebuild, and so clear, every
    date of rebuilt_score_dates(history) (D and the next scored date). -#}
{% macro clear_score_date(history=none) -%}
    {{ return(adapter.dispatch('clear_score_date', 'leadscore')(history)) }}
{%- endmacro %}

{% macro default__clear_score_date(history=none) -%}
    {%- if execute and not flags.FULL_REFRESH and load_relation(this) is not none -%}
        {%- if history is none -%}
            delete from {{ this }} where score_date = {{ score_date() }}
        {%- else -%}
            delete from {{ this }}
            where score_date in ({{ rebuilt_score_dates(history) }})
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- Spark (Parquet tables have no DELETE): these marts are partitioned by
    score_date there (insert_overwrite); drop the dates' partitions. -#}
{% macro spark__clear_score_date(history=none) -%}
    {%- if execute and not flags.FULL_REFRESH and load_relation(this) is not none -%}
        {%- if history is none -%}
            alter table {{ this }} drop if exists partition (score_date = '{{ score_date_text() }}')
        {%- else -%}
            {#- the dates from history (only its dates from D on are read), each
                partition dropped by name: a filter on this table by a
                subquery would read every partition of it -#}
            {%- set dates = run_query(
                "select distinct cast(rebuilt.score_date as string) from ("
                ~ rebuilt_score_dates(history) ~ ") as rebuilt"
            ).columns[0].values() -%}
            {%- for date in dates if date is not none -%}
                {%- do run_query("alter table " ~ this ~ " drop if exists partition (score_date = '" ~ date ~ "')") -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
