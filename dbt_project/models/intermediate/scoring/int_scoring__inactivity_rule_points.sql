-- Inactivity penalties before the floor, one row per contact x active model x
-- inactivity rule that fires (SPEC section 4, Inactivity). An activity's
-- channel is the channel of its engagement rule in the model; only activity
-- types with positive points count as activity, of any age (the lookback does
-- not apply) but only those the model scores (its product line). Channel
-- `any` means every channel. A contact with no such activity ever is
-- inactive since its created_at. A rule fires when
-- days_inactive >= window_days and adds its (negative) points, times
-- floor(days_inactive / window_days) when it repeats. The floor (penalties
-- never take more than the positive engagement) is applied in
-- int_scoring__contact_scores.

with

active_models as (

    select model_id
    from {{ ref('scoring_models') }}
    where is_active

),

rules as (

    select
        inactivity_rules.model_id,
        inactivity_rules.rule_id,
        inactivity_rules.window_days,
        inactivity_rules.points,
        inactivity_rules.repeats,
        lower(trim(inactivity_rules.channel)) as channel
    from {{ ref('inactivity_rules') }} as inactivity_rules
    inner join active_models
        on inactivity_rules.model_id = active_models.model_id

),

contacts as (

    select
        contact_id,
        cast(created_at as date) as created_date
    from {{ ref('int_scoring__contact_profile') }}

),

-- inlined into both readers of last_activity: two scans of the table cost
-- less than writing its 10M positive rows (1M contacts) to a buffer first
positive_activity as {{ cte_inlined() }} (

    select
        contact_id,
        model_id,
        channel,
        last_activity_date
    from {{ ref('int_scoring__activity_type_points') }}
    where rule_points > 0

),

-- the channels some rule of the model names: only these are joined below,
-- so only these are grouped per channel (`any` has its own grouping). At 1M
-- contacts the model alone took 1.9 s against 3.0-3.3 s grouping every
-- channel, with the same rows.
rule_channels as (

    select distinct
        model_id,
        channel
    from rules

),

last_activity as (

    select
        positive_activity.contact_id,
        positive_activity.model_id,
        positive_activity.channel,
        max(positive_activity.last_activity_date) as last_activity_date
    from positive_activity
    inner join rule_channels
        on
            positive_activity.model_id = rule_channels.model_id
            and positive_activity.channel = rule_channels.channel
    group by
        positive_activity.contact_id,
        positive_activity.model_id,
        positive_activity.channel

    union all

    select
        contact_id,
        model_id,
        'any' as channel,
        max(last_activity_date) as last_activity_date
    from positive_activity
    group by
        contact_id,
        model_id

),

contact_rules as (

    select
        contacts.contact_id,
        rules.model_id,
        rules.rule_id,
        rules.channel,
        rules.window_days,
        rules.points,
        rules.repeats,
        last_activity.last_activity_date,
        {{ dbt.datediff(
            'coalesce(last_activity.last_activity_date, contacts.created_date)',
            score_date(),
            'day'
        ) }} as days_inactive
    from contacts
    cross join rules
    left join last_activity
        on
            contacts.contact_id = last_activity.contact_id
            and rules.model_id = last_activity.model_id
            and rules.channel = last_activity.channel

)

select
    contact_id,
    model_id,
    rule_id,
    channel,
    last_activity_date,
    days_inactive,
    window_days,
    points
    * case
        when repeats then floor(days_inactive / cast(window_days as double))
        else 1
    end as inactivity_points
from contact_rules
where days_inactive >= window_days
