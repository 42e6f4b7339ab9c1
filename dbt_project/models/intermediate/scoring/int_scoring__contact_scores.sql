-- The score of every contact known on D under every active model, one row per
-- contact x model (SPEC section 4, Scores / Segment / Stage / Grades):
--   penalty          = max(inactivity points, -max(engagement_points, 0))
--   engagement_score = engagement_points + penalty
--   score            = fit_score + engagement_score, rounded to 2 decimals
-- Thresholds come from the segment's row, else the model's `*` row. Stage and
-- grades are decided on the published (rounded) values so that a reader can
-- check them. A score below every grade band gets the lowest band. A
-- quarantined contact (any quality flag, duplicates included) is
-- `disqualified`; a non-canonical duplicate is scored on its own fit with no
-- activities (they count for its canonical contact).

with

active_models as (

    select model_id
    from {{ ref('scoring_models') }}
    where is_active

),

contacts as (

    select
        contact_id,
        account_id,
        segment,
        is_duplicate
    from {{ ref('int_scoring__contact_profile') }}

),

fit as (

    select
        contact_id,
        model_id,
        sum(points) as fit_points
    from {{ ref('int_scoring__fit_rule_matches') }}
    group by
        contact_id,
        model_id

),

engagement as (

    select
        contact_id,
        model_id,
        sum(engagement_points) as engagement_points
    from {{ ref('int_scoring__activity_type_points') }}
    group by
        contact_id,
        model_id

),

inactivity as (

    select
        contact_id,
        model_id,
        sum(inactivity_points) as inactivity_points
    from {{ ref('int_scoring__inactivity_rule_points') }}
    group by
        contact_id,
        model_id

),

quarantined as (

    select distinct contact_id
    from {{ ref('int_quality__contact_flags') }}

),

thresholds as (

    select
        model_id,
        segment,
        warm_at,
        mql_at
    from {{ ref('thresholds') }}

),

-- each band covers [its min_score, the next band's min_score); the lowest
-- band also takes every score below it
grade_bands as (

    select
        model_id,
        kind,
        label,
        case
            when row_number() over (partition by model_id, kind order by min_score, label) > 1 then min_score
        end as lower_bound,
        lead(min_score) over (partition by model_id, kind order by min_score, label) as upper_bound
    from {{ ref('grade_bands') }}

),

points as (

    select
        contacts.contact_id,
        active_models.model_id,
        contacts.account_id,
        contacts.segment,
        coalesce(fit.fit_points, 0) as fit_points,
        coalesce(engagement.engagement_points, 0) as engagement_points,
        coalesce(inactivity.inactivity_points, 0) as inactivity_points,
        contacts.is_duplicate or quarantined.contact_id is not null as is_quarantined
    from contacts
    cross join active_models
    left join fit
        on
            contacts.contact_id = fit.contact_id
            and active_models.model_id = fit.model_id
    left join engagement
        on
            contacts.contact_id = engagement.contact_id
            and active_models.model_id = engagement.model_id
    left join inactivity
        on
            contacts.contact_id = inactivity.contact_id
            and active_models.model_id = inactivity.model_id
    left join quarantined
        on contacts.contact_id = quarantined.contact_id

),

penalized as (

    select
        *,
        -- 0 - x rather than -x: no negative zero when there is no engagement
        greatest(
            inactivity_points,
            0 - greatest(engagement_points, 0)
        ) as penalty
    from points

),

scored as (

    select
        *,
        {{ round_cents('fit_points') }} as fit_score,
        {{ round_cents('engagement_points + penalty') }} as engagement_score,
        {{ round_cents('fit_points + engagement_points + penalty') }} as score
    from penalized

),

-- Scores have 2 decimals, so `score >= t` holds exactly when score reaches t
-- rounded up to the cent (80.004 -> 80.01): the published threshold is that
-- cent, and the stage compares with it (a plain cast would round 80.004 down
-- and call 80.00 mql). round(.., 6) first: 80.1 * 100 is 8010.000000000001.
with_thresholds as (

    select
        scored.*,
        cast(
            ceil(round(coalesce(segment_thresholds.warm_at, default_thresholds.warm_at) * 100, 6))
            / 100 as decimal(18, 2)
        ) as warm_at,
        cast(
            ceil(round(coalesce(segment_thresholds.mql_at, default_thresholds.mql_at) * 100, 6))
            / 100 as decimal(18, 2)
        ) as mql_at
    from scored
    left join thresholds as segment_thresholds
        on
            scored.model_id = segment_thresholds.model_id
            and scored.segment = segment_thresholds.segment
    left join thresholds as default_thresholds
        on
            scored.model_id = default_thresholds.model_id
            and default_thresholds.segment = '*'

),

graded as (

    select
        with_thresholds.*,
        fit_bands.label as fit_grade,
        engagement_bands.label as engagement_level
    from with_thresholds
    left join grade_bands as fit_bands
        on
            with_thresholds.model_id = fit_bands.model_id
            and fit_bands.kind = 'fit'
            and (fit_bands.lower_bound is null or with_thresholds.fit_score >= fit_bands.lower_bound)
            and (fit_bands.upper_bound is null or with_thresholds.fit_score < fit_bands.upper_bound)
    left join grade_bands as engagement_bands
        on
            with_thresholds.model_id = engagement_bands.model_id
            and engagement_bands.kind = 'engagement'
            and (
                engagement_bands.lower_bound is null
                or with_thresholds.engagement_score >= engagement_bands.lower_bound
            )
            and (
                engagement_bands.upper_bound is null
                or with_thresholds.engagement_score < engagement_bands.upper_bound
            )

),

staged as (

    select
        *,
        fit_grade || engagement_level as matrix_cell,
        case
            when is_quarantined then 'disqualified'
            when score >= mql_at then 'mql'
            when score >= warm_at then 'warm'
            else 'cold'
        end as stage  -- noqa: RF04
    from graded

)

select
    -- keys
    contact_id,
    model_id,
    account_id,

    -- attributes
    segment,
    fit_grade,
    engagement_level,
    matrix_cell,
    stage,
    is_quarantined,

    -- published scores (decimal(18, 2))
    fit_score,
    engagement_score,
    score,
    warm_at,
    mql_at,

    -- unrounded parts, for the components and for audits
    fit_points,
    engagement_points,
    inactivity_points,
    penalty

from staged
