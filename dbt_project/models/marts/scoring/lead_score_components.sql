-- The breakdown of the current scores (lead_scores), one row per contact x
-- model x component with non-zero points; per contact and model the points
-- sum exactly to lead_scores.score. A run whose score date is not older than
-- the latest in lead_score_history writes the day's components (a model
-- deactivated since has no rows any more); a backfill of an older date keeps
-- the previous rows of the table, so it keeps matching lead_scores. A plain
-- table rebuilt each run: writing tens of millions of new rows is cheaper
-- than deleting the old ones first.
--
-- The components are computed here, from the view int_scoring__score_components,
-- and written once: this table is built before lead_score_history, whose top
-- reasons read it back (a backfill, whose components are not kept here,
-- computes them from the view instead). At 1M contacts the 15M components
-- were written twice before, as the intermediate table and as this mart.

{#- On Spark a table model is dropped before it is rebuilt, so it cannot read
    its own previous rows, and a Parquet table has no DELETE: there the mart
    is partitioned by score_date and written with insert_overwrite (a backfill
    of an older date writes no rows, so nothing is overwritten), and a run at
    the latest date drops the other dates' partitions afterwards. -#}
{{
    config(
        materialized=('incremental' if target.type == 'spark' else 'table'),
        incremental_strategy=('insert_overwrite' if target.type == 'spark' else none),
        partition_by=(['score_date'] if target.type == 'spark' else none),
        on_schema_change='append_new_columns',
        post_hook=("{{ spark_keep_only_score_date() }}" if target.type == 'spark' else []),
    )
}}

{%- set backfill = score_date_is_backfill() -%}
{%- set previous = none -%}
{#- `this` is none inside dbt unit tests: they see only their given rows. -#}
{%- if backfill and not flags.FULL_REFRESH and this is not none -%}
    {%- set existing = load_relation(this) -%}
    {%- if existing is not none -%}
        {{ assert_components_are_latest(existing) }}
    {%- endif -%}
    {%- if target.type != 'spark' -%}
        {%- set previous = existing -%}
    {%- endif -%}
{%- endif %}

with

components as (

    select
        contact_id,
        model_id,
        component_type,
        component_id,
        points
    from {{ ref('int_scoring__score_components') }}

)

select
    -- keys
    cast(components.contact_id as {{ dbt.type_string() }}) as contact_id,
    cast(components.model_id as {{ dbt.type_string() }}) as model_id,
    {{ score_date() }} as score_date,
    cast(components.component_type as {{ dbt.type_string() }}) as component_type,
    cast(components.component_id as {{ dbt.type_string() }}) as component_id,

    -- metrics
    cast(components.points as decimal(18, 2)) as points

from components
{%- if backfill %}
where 1 = 0
{%- endif %}
{%- if previous is not none %}

union all

select
    previous.contact_id,
    previous.model_id,
    previous.score_date,
    previous.component_type,
    previous.component_id,
    previous.points
from {{ previous }} as previous
{%- endif %}
