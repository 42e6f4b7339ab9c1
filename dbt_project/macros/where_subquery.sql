{#- The score date in a data test's `where` config, read when the test runs.

    dbt renders a `where` config when it parses the YAML. A `where` that read
    the score date there (env_var('LEADSCORE_SCORE_DATE')) tied the parse to
    the date: with every new date, dbt's partial parsing re-parsed the six
    YAML files holding one (0.6-1.2 s of each daily run). Such a `where` now
    says `__score_date__`, which this override of dbt's get_where_subquery
    (the way dbt documents for custom logic in `where`) replaces with
    score_date() as the test runs. Left unreplaced it is an unknown column:
    the test errors, it never passes silently. -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set where = where | replace('__score_date__', score_date()) -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
