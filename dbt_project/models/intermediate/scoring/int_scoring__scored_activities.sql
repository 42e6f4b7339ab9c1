-- The activities that count for scoring on D, one row per activity,
-- attributed to the canonical contact, with its age in days. Excluded: activities flagged by the quality gate
-- (bot_activity) by D, activities at or after D + 1 day (00:00 UTC), and
-- activities of contacts not known on D (unknown to the CRM, or created after
-- D: SPEC section 4 scores the records known at the end of D, so a duplicate
-- created later adds nothing to D's score). The activities of a duplicate
-- known on D count for its canonical contact (SPEC section 4, Duplicates).

with

activities as (

    select
        activity_id,
        contact_id,
        activity_type,
        product_line,
        occurred_at
    from {{ ref('stg_marketing__activities') }}
    where occurred_at < {{ dbt.dateadd('day', 1, score_date()) }}

),

-- a flag resting on activities after D (a click burst across midnight) does
-- not apply on D yet
flagged_activities as (

    select distinct activity_id
    from {{ ref('int_quality__activity_flags') }}
    where applies_from_date <= {{ score_date() }}

),

duplicates as (

    select
        contact_id,
        canonical_contact_id
    from {{ ref('int_crm__contact_duplicates') }}

),

-- contacts known on D; a known contact's canonical contact is known too (it
-- is the earliest created of its email)
known_contacts as (

    select contact_id
    from {{ ref('int_scoring__contact_profile') }}

),

scorable as (

    select
        activities.activity_id,
        duplicates.canonical_contact_id as contact_id,
        activities.activity_type,
        activities.product_line,
        cast(activities.occurred_at as date) as activity_date
    from activities
    inner join duplicates
        on activities.contact_id = duplicates.contact_id
    inner join known_contacts
        on activities.contact_id = known_contacts.contact_id
    left join flagged_activities
        on activities.activity_id = flagged_activities.activity_id
    where flagged_activities.activity_id is null

)

select
    activity_id,
    contact_id,
    activity_type,
    product_line,
    activity_date,
    {{ dbt.datediff('activity_date', score_date(), 'day') }}
        as age_days
from scorable
