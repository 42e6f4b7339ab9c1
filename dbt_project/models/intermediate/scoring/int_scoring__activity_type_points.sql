-- Engagement per contact x active model x activity type (SPEC section 4,
-- Engagement): each activity is worth
-- points * 0.5 ^ (age_days / half_life_days) (no decay when the half-life is
-- blank), summed over the activities within the model's lookback, then clamped to
-- the cap (a positive cap bounds a positive sum from above; for negative
-- points the cap bounds from below). A product-line model only sees
-- activities with no product line or its own. Types without a rule in the
-- model score nothing and have no row. last_activity_date (any age) feeds the
-- inactivity rules, with the rule's channel compared as they compare it
-- (trimmed, lower case): a channel is any name the rulebook gives.

with

active_models as (

    select
        model_id,
        lookback_days,
        nullif(lower(trim(product_line)), '') as product_line
    from {{ ref('scoring_models') }}
    where is_active

),

rules as (

    select
        -- a small integer names the rule in the big aggregation below: a
        -- narrower key than (model_id, activity_type) keeps its hash table
        -- within the memory budget at tens of millions of groups
        row_number() over (
            order by engagement_rules.model_id, engagement_rules.activity_type
        ) as rule_key,
        engagement_rules.model_id,
        engagement_rules.activity_type,
        lower(trim(engagement_rules.channel)) as channel,
        engagement_rules.points,
        engagement_rules.half_life_days,
        engagement_rules.cap,
        active_models.product_line,
        active_models.lookback_days
    from {{ ref('engagement_rules') }} as engagement_rules
    inner join active_models
        on engagement_rules.model_id = active_models.model_id

),

scored_activities as (

    select
        contact_id,
        activity_type,
        product_line,
        activity_date,
        age_days
    from {{ ref('int_scoring__scored_activities') }}

),

valued as (

    select
        scored_activities.contact_id,
        rules.rule_key,
        scored_activities.activity_date,
        case
            when scored_activities.age_days > rules.lookback_days then 0
            when rules.half_life_days is null then rules.points
            else rules.points * power(0.5, scored_activities.age_days / cast(rules.half_life_days as double))
        end as activity_points
    from scored_activities
    inner join rules
        on
            scored_activities.activity_type = rules.activity_type
            and (
                rules.product_line is null
                or scored_activities.product_line is null
                or scored_activities.product_line = rules.product_line
            )

),

-- grouped on the narrow key only; the rule's attributes are joined after
summed as (

    select
        contact_id,
        rule_key,
        sum(activity_points) as decayed_points,
        max(activity_date) as last_activity_date
    from valued
    group by
        contact_id,
        rule_key

)

select
    summed.contact_id,
    rules.model_id,
    rules.activity_type,
    rules.channel,
    rules.points as rule_points,
    summed.decayed_points,
    summed.last_activity_date,
    case
        when rules.cap is null then summed.decayed_points
        when rules.points >= 0 then least(summed.decayed_points, rules.cap)
        else greatest(summed.decayed_points, rules.cap)
    end as engagement_points
from summed
inner join rules
    on summed.rule_key = rules.rule_key
