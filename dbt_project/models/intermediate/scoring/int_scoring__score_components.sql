-- The breakdown of every score, one row per contact x model x component with
-- non-zero points: each matching fit rule (`fit_rule`, its rule_id), each
-- scored activity type (`activity_type`, its capped, decayed points) and
-- each firing inactivity rule (`inactivity_rule`, its rule_id). When the
-- penalty floor binds, every inactivity rule is scaled by penalty / (sum of
-- the rules) so that they add up to the penalty.
-- Points are rounded to 2 decimals and the rounding residual
-- (score - sum of rounded points) goes to the component of largest magnitude
-- (ties: component_type, then component_id), so that per contact and model
-- the components sum exactly to the published score.
--
-- The components, and the scores they are scaled by, are inlined into each
-- reader (cte_inlined; the per-score totals stay computed once): DuckDB would
-- otherwise write the union of all components (150M rows at 10M contacts)
-- to a temporary table, spill it, and read it three times; scanning the
-- three source tables once per reader costs less. Alone on the 10M
-- warehouse: 171-191 s materialized, 110-117 s inlined; at 1M 7.0 s and
-- 5.7 s; the same rows.

with

scores as {{ cte_inlined() }} (

    select
        contact_id,
        model_id,
        score,
        inactivity_points,
        penalty
    from {{ ref('int_scoring__contact_scores') }}

),

fit_components as {{ cte_inlined() }} (

    select
        contact_id,
        model_id,
        'fit_rule' as component_type,
        rule_id as component_id,
        points
    from {{ ref('int_scoring__fit_rule_matches') }}

),

activity_components as {{ cte_inlined() }} (

    select
        contact_id,
        model_id,
        'activity_type' as component_type,
        activity_type as component_id,
        engagement_points as points
    from {{ ref('int_scoring__activity_type_points') }}

),

inactivity_components as {{ cte_inlined() }} (

    select
        inactivity_rule_points.contact_id,
        inactivity_rule_points.model_id,
        'inactivity_rule' as component_type,
        inactivity_rule_points.rule_id as component_id,
        inactivity_rule_points.inactivity_points * scores.penalty / scores.inactivity_points as points
    from {{ ref('int_scoring__inactivity_rule_points') }} as inactivity_rule_points
    inner join scores
        on
            inactivity_rule_points.contact_id = scores.contact_id
            and inactivity_rule_points.model_id = scores.model_id
    where scores.inactivity_points != 0

),

components as {{ cte_inlined() }} (

    select * from fit_components
    union all
    select * from activity_components
    union all
    select * from inactivity_components

),

rounded as {{ cte_inlined() }} (

    select
        contact_id,
        model_id,
        component_type,
        component_id,
        points,
        {{ round_cents('points') }} as rounded_points,
        -- sorts by component_type, then component_id: the residual tie-break
        component_type || ':' || component_id as component_key
    from components
    where points != 0

),

-- aggregates rather than a ranking window: with tens of millions of
-- components, a window partitioned by contact x model is the slow part
totals as (

    select
        contact_id,
        model_id,
        sum(rounded_points) as rounded_total,
        max(abs(points)) as largest_magnitude
    from rounded
    group by
        contact_id,
        model_id

),

largest as (

    select
        rounded.contact_id,
        rounded.model_id,
        min(rounded.component_key) as component_key
    from rounded
    inner join totals
        on
            rounded.contact_id = totals.contact_id
            and rounded.model_id = totals.model_id
            and abs(rounded.points) = totals.largest_magnitude
    group by
        rounded.contact_id,
        rounded.model_id

),

residuals as (

    select
        largest.contact_id,
        largest.model_id,
        largest.component_key,
        scores.score - totals.rounded_total as residual
    from largest
    inner join totals
        on
            largest.contact_id = totals.contact_id
            and largest.model_id = totals.model_id
    inner join scores
        on
            largest.contact_id = scores.contact_id
            and largest.model_id = scores.model_id

),

adjusted as (

    select
        rounded.contact_id,
        rounded.model_id,
        rounded.component_type,
        rounded.component_id,
        rounded.rounded_points + coalesce(residuals.residual, 0) as points
    from rounded
    left join residuals
        on
            rounded.contact_id = residuals.contact_id
            and rounded.model_id = residuals.model_id
            and rounded.component_key = residuals.component_key
            and residuals.residual != 0

)

select
    contact_id,
    model_id,
    component_type,
    component_id,
    cast(points as decimal(18, 2)) as points
from adjusted
where points != 0
