{#- Fails on every value of column_name that occurs more than once, like
    dbt's unique test, but only looks at the values of rows loaded after the
    last complete build (audit.dbt_builds.loaded_through, recorded by the
    orchestrator): each of them is checked against the whole table, so a new
    row that repeats an old id fails, while the old rows, checked when they
    were loaded, are not grouped again every day. Without that bookkeeping
    (a plain `dbt build`, or no complete build yet, and no verified_in
    record below) every row is checked.
    Rows with no load id are always checked. The watermark is read when the
    test runs and written into its SQL as a number, so the scan can skip
    the storage blocks of older loads.
    verified_in: the raw entity whose batch check (Great Expectations suite,
    expect_column_values_to_be_unique on the same column) records in
    audit.verified_unique the load through which a full scan of it found
    every value unique; rows through that load are not grouped again
    either. The run checks the batch before dbt builds, so on a first build
    of 29M activities the ids are grouped once, not twice (1M contacts:
    5.2-5.7 s of dbt). The check removes the record whenever it runs again
    and writes it back only after a full scan that finds no duplicate. -#}
{% test unique_in_new_loads(model, column_name, load_column='_load_id', verified_in=none) %}

{%- set watermarks = [] -%}
{%- if execute -%}
    {%- set relation = adapter.get_relation(database=model.database, schema='audit', identifier='dbt_builds') -%}
    {%- if relation is not none and 'loaded_through' in (adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list) -%}
        {%- do watermarks.append(run_query(
            "select max(loaded_through) from " ~ relation ~ " where is_complete"
        ).columns[0].values()[0]) -%}
    {%- endif -%}
    {%- if verified_in is not none -%}
        {%- set verified = adapter.get_relation(database=model.database, schema='audit', identifier='verified_unique') -%}
        {%- if verified is not none -%}
            {%- do watermarks.append(run_query(
                "select max(load_id) from " ~ verified ~ " where entity = "
                ~ sql_string_literal(verified_in) ~ " and column_name = " ~ sql_string_literal(column_name)
            ).columns[0].values()[0]) -%}
        {%- endif -%}
    {%- endif -%}
{%- endif %}
{%- set known = watermarks | reject('none') | list -%}
{%- set loaded_through = (known | max) if known else none %}

select
    {{ column_name }},
    count(*) as occurrences
from {{ model }}
{%- if loaded_through is not none %}
where {{ column_name }} in (
    select new_rows.{{ column_name }}
    from {{ model }} as new_rows
    where
        new_rows.{{ load_column }} is null
        or new_rows.{{ load_column }} > {{ loaded_through | int }}
)
{%- endif %}
group by {{ column_name }}
having count(*) > 1

{% endtest %}
