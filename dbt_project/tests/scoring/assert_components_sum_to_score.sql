-- Per contact and model, the published components add up exactly to the
-- published score (SPEC section 6), and they describe the same score date.
-- A score of 0 may have no components at all.

{{ config(meta={'dagster': {'ref': {'name': 'lead_score_components'}}}) }}

with

scores as (

    select
        contact_id,
        model_id,
        score_date,
        score
    from {{ ref('lead_scores') }}

),

component_totals as (

    select
        contact_id,
        model_id,
        min(score_date) as first_score_date,
        max(score_date) as last_score_date,
        sum(points) as total_points
    from {{ ref('lead_score_components') }}
    group by
        contact_id,
        model_id

)

select
    scores.score,
    component_totals.total_points,
    coalesce(scores.contact_id, component_totals.contact_id) as contact_id,
    coalesce(scores.model_id, component_totals.model_id) as model_id
from scores
full outer join component_totals
    on
        scores.contact_id = component_totals.contact_id
        and scores.model_id = component_totals.model_id
where
    scores.contact_id is null
    or coalesce(component_totals.total_points, 0) != scores.score
    or component_totals.first_score_date != scores.score_date
    or component_totals.last_score_date != scores.score_date
