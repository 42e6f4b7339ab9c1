{{ config(**by_score_date_config(pre_hook="{{ clear_score_date() }}")) }}

-- Every score ever published, one row per contact x model x score date.
-- Re-scoring a date replaces all the rows of that date (and only those), so
-- a backfill is idempotent and the same inputs give the same rows.

with

scores as (

    select
        contact_id,
        model_id,
        account_id,
        segment,
        fit_score,
        engagement_score,
        score,
        fit_grade,
        engagement_level,
        matrix_cell,
        stage,
        warm_at,
        mql_at,
        is_quarantined,
        engagement_points,
        penalty
    from {{ ref('int_scoring__contact_scores') }}

),

top_reasons as (

    select
        contact_id,
        model_id,
        top_reasons
    from {{ ref('int_scoring__top_reasons') }}

)

select
    -- keys
    cast(scores.contact_id as {{ dbt.type_string() }}) as contact_id,
    cast(scores.model_id as {{ dbt.type_string() }}) as model_id,
    {{ score_date() }} as score_date,
    cast(scores.account_id as {{ dbt.type_string() }}) as account_id,

    -- scores and their reading
    cast(scores.segment as {{ dbt.type_string() }}) as segment,
    cast(scores.fit_score as decimal(18, 2)) as fit_score,
    cast(scores.engagement_score as decimal(18, 2)) as engagement_score,
    cast(scores.score as decimal(18, 2)) as score,
    cast(scores.fit_grade as {{ dbt.type_string() }}) as fit_grade,
    cast(scores.engagement_level as {{ dbt.type_string() }}) as engagement_level,
    cast(scores.matrix_cell as {{ dbt.type_string() }}) as matrix_cell,
    cast(scores.stage as {{ dbt.type_string() }}) as stage,  -- noqa: RF04
    cast(scores.warm_at as decimal(18, 2)) as warm_at,
    cast(scores.mql_at as decimal(18, 2)) as mql_at,
    cast(scores.is_quarantined as {{ dbt.type_boolean() }}) as is_quarantined,
    cast(top_reasons.top_reasons as {{ dbt.type_string() }}) as top_reasons,

    -- engagement before and after the inactivity penalty
    {{ round_cents('scores.engagement_points') }} as engagement_points,
    {{ round_cents('scores.penalty') }} as penalty

from scores
left join top_reasons
    on
        scores.contact_id = top_reasons.contact_id
        and scores.model_id = top_reasons.model_id
