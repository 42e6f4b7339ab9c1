{#- The contact x model pairs whose components do not add up exactly to their
    score, or describe another score date (SPEC section 6: per contact and
    model the points of lead_score_components sum to the score). `scores` is
    a relation with contact_id, model_id, score_date and score, read where
    `scores_where` holds; `components` is lead_score_components. A score of 0
    may have no components at all. Renders a select of score, total_points
    (null: no components), contact_id and model_id. Used by the test
    assert_components_sum_to_score (on lead_scores) and by a backfill's check
    of the components it keeps (on lead_score_history's latest date). -#}
{% macro components_not_summing_to_scores(scores, components, scores_where='1 = 1') -%}
with

scores as (

    select
        contact_id,
        model_id,
        score_date,
        score
    from {{ scores }}
    where {{ scores_where }}

),

component_totals as (

    select
        contact_id,
        model_id,
        min(score_date) as first_score_date,
        max(score_date) as last_score_date,
        sum(points) as total_points
    from {{ components }}
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
{%- endmacro %}
