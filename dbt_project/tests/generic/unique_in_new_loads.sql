{#- Fails on every value of column_name that occurs more than once, like
    dbt's unique test, but only looks at the values of rows loaded after the
    last complete build (audit.dbt_builds.loaded_through, recorded by the
    orchestrator): each of them is checked against the whole table, so a new
    row that repeats an old id fails, while the old rows, checked when they
    were loaded, are not grouped again every day. Without that bookkeeping
    (a plain `dbt build`) every row is checked. Rows with no load id are
    always checked. -#}
{% test unique_in_new_loads(model, column_name, load_column='_load_id') %}

{%- set builds = none -%}
{%- if execute -%}
    {%- set relation = adapter.get_relation(database=model.database, schema='audit', identifier='dbt_builds') -%}
    {%- if relation is not none and 'loaded_through' in (adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list) -%}
        {%- set builds = relation -%}
    {%- endif -%}
{%- endif %}

select
    {{ column_name }},
    count(*) as occurrences
from {{ model }}
{%- if builds is not none %}
where {{ column_name }} in (
    select new_rows.{{ column_name }}
    from {{ model }} as new_rows
    where
        new_rows.{{ load_column }} is null
        or new_rows.{{ load_column }} > (
            select coalesce(max(builds.loaded_through), -1)
            from {{ builds }} as builds
            where builds.is_complete
        )
)
{%- endif %}
group by {{ column_name }}
having count(*) > 1

{% endtest %}
