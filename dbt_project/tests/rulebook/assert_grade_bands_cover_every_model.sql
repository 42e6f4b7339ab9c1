-- Every active model has at least one fit band and one engagement band, so
-- every contact gets a fit_grade, an engagement_level and a matrix_cell.

{{ config(meta={'dagster': {'ref': {'name': 'grade_bands'}}}) }}

with

kinds as (

    select 'fit' as kind
    union all
    select 'engagement' as kind

),

bands as (

    select distinct
        model_id,
        kind
    from {{ ref('grade_bands') }}

)

select
    scoring_models.model_id,
    kinds.kind
from {{ ref('scoring_models') }} as scoring_models
cross join kinds
left join bands
    on
        scoring_models.model_id = bands.model_id
        and kinds.kind = bands.kind
where
    scoring_models.is_active
    and bands.model_id is null
