{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='model_id',
        on_schema_change='append_new_columns',
        post_hook="delete from {{ this }} where score_date < (select max(kept.score_date) from {{ this }} as kept)",
    )
}}

-- The breakdown of the current scores (lead_scores), one row per contact x
-- model x component with non-zero points; per contact and model the points
-- sum exactly to lead_scores.score. A run whose score date is the latest in
-- lead_score_history replaces each model's rows; a backfill of an older date
-- selects nothing, so the table keeps matching lead_scores. The post-hook
-- drops rows older than the newest date (a model deactivated since then).

with

components as (

    select
        contact_id,
        model_id,
        component_type,
        component_id,
        points
    from {{ ref('int_scoring__score_components') }}

),

latest_score_date as (

    select max(score_date) as score_date
    from {{ ref('lead_score_history') }}

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
cross join latest_score_date
where {{ score_date() }} >= latest_score_date.score_date
