-- Every active model has exactly one `*` thresholds row: the thresholds for a
-- segment without its own row (including `unknown`).

{{ config(meta={'dagster': {'ref': {'name': 'thresholds'}}}) }}

with

defaults as (

    select
        model_id,
        count(*) as default_rows
    from {{ ref('thresholds') }}
    where segment = '*'
    group by model_id

)

select
    scoring_models.model_id,
    coalesce(defaults.default_rows, 0) as default_rows
from {{ ref('scoring_models') }} as scoring_models
left join defaults
    on scoring_models.model_id = defaults.model_id
where
    scoring_models.is_active
    and coalesce(defaults.default_rows, 0) != 1
