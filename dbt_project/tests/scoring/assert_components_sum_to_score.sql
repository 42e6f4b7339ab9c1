-- Per contact and model, the published components add up exactly to the
-- published score (SPEC section 6), and they describe the same score date.
-- A score of 0 may have no components at all.

{{ config(meta={'dagster': {'ref': {'name': 'lead_score_components'}}}) }}

{{ components_not_summing_to_scores(ref('lead_scores'), ref('lead_score_components')) }}
