{%- set window_days = conversion_days('conversion_window_days') -%}
{%- set lookback_days = conversion_days('conversion_lookback_days') %}

-- How well the score separates the contacts who convert: one row per model x
-- score band (deciles of the score and stages, as listed in the seed
-- reporting_score_bands; a band no contact fell in has a row with zero
-- contacts). The cohort, the conversion window and every formula are
-- described in score_performance.yml.
-- The cohort is every contact x model x score date of history, so it grows
-- by a day of contacts every run. It is never joined row by row to its
-- outcomes: the cohort is counted on the deciles table, grouped by score
-- date, decile and stage, and the conversions (the few rows with an
-- opportunity, int_reporting__score_outcomes) are counted the same way and
-- added to those groups. Each CTE reads its big table itself: DuckDB
-- materializes a CTE referenced more than once. At 1M contacts and 92 score
-- dates this took 38 s through a view of every row with its outcome.

with

-- the cohort, grouped as far as the bands allow
date_groups as (

    select
        model_id,
        score_date,
        score_decile,
        stage,
        count(*) as contacts,
        min(score) as min_score,
        max(score) as max_score
    from {{ ref('int_reporting__score_deciles') }}
    group by
        model_id,
        score_date,
        score_decile,
        stage

),

-- its conversions, grouped the same way
converted_groups as (

    select
        model_id,
        score_date,
        score_decile,
        stage,
        count(*) as converted_to_opportunity,
        sum(case when has_won_opportunity then 1 else 0 end) as converted_to_won
    from {{ ref('int_reporting__score_outcomes') }}
    group by
        model_id,
        score_date,
        score_decile,
        stage

),

-- the latest score date in history: a date's forward window is complete
-- once D + conversion_window_days is on or before it
as_of as (

    select max(score_date) as as_of_date
    from date_groups

),

cohort_groups as (

    select
        date_groups.model_id,
        date_groups.score_date,
        date_groups.score_decile,
        date_groups.stage,
        date_groups.contacts,
        date_groups.min_score,
        date_groups.max_score,
        coalesce(converted_groups.converted_to_opportunity, 0) as converted_to_opportunity,
        coalesce(converted_groups.converted_to_won, 0) as converted_to_won,
        {{ dbt.dateadd('day', window_days, 'date_groups.score_date') }} <= as_of.as_of_date as is_window_complete
    from date_groups
    cross join as_of
    left join converted_groups
        on
            date_groups.model_id = converted_groups.model_id
            and date_groups.score_date = converted_groups.score_date
            and date_groups.score_decile = converted_groups.score_decile
            and date_groups.stage = converted_groups.stage

),

bands as (

    select
        band_type,
        band,
        band_order
    from {{ ref('reporting_score_bands') }}

),

model_cohorts as (

    select
        model_id,
        min(score_date) as cohort_first_score_date,
        max(score_date) as cohort_last_score_date,
        count(distinct score_date) as cohort_score_dates,
        {{ lookback_days }} as conversion_lookback_days,
        {{ window_days }} as conversion_window_days,
        max(case when is_window_complete then score_date end) as window_complete_through,
        sum(contacts) as contacts,
        sum(converted_to_opportunity) as converted_to_opportunity,
        sum(converted_to_won) as converted_to_won
    from cohort_groups
    group by model_id

),

banded_groups as (

    select
        model_id,
        'decile' as band_type,
        cast(score_decile as {{ dbt.type_string() }}) as band,
        contacts,
        min_score,
        max_score,
        converted_to_opportunity,
        converted_to_won,
        is_window_complete
    from cohort_groups

    union all

    select
        model_id,
        'stage' as band_type,
        stage as band,
        contacts,
        min_score,
        max_score,
        converted_to_opportunity,
        converted_to_won,
        is_window_complete
    from cohort_groups

),

band_counts as (

    select
        model_id,
        band_type,
        band,
        sum(contacts) as contacts,
        min(min_score) as min_score,
        max(max_score) as max_score,
        sum(converted_to_opportunity) as converted_to_opportunity,
        sum(converted_to_won) as converted_to_won,
        sum(case when is_window_complete then contacts else 0 end) as contacts_window_complete,
        sum(case when is_window_complete then converted_to_opportunity else 0 end)
            as converted_window_complete
    from banded_groups
    group by
        model_id,
        band_type,
        band

),

-- how many people each band's rows are
band_distinct_contacts as (

    select
        model_id,
        'decile' as band_type,
        cast(score_decile as {{ dbt.type_string() }}) as band,
        count(distinct contact_id) as distinct_contacts
    from {{ ref('int_reporting__score_deciles') }}
    group by
        model_id,
        score_decile

    union all

    select
        model_id,
        'stage' as band_type,
        stage as band,
        count(distinct contact_id) as distinct_contacts
    from {{ ref('int_reporting__score_deciles') }}
    group by
        model_id,
        stage

),

-- MQL -> opportunity: each hand-off (the date a contact became mql), with an
-- opportunity created on or after that date within the window.
mql_handoff_counts as (

    select
        model_id,
        count(*) as handoffs
    from {{ ref('int_reporting__score_deciles') }}
    where is_mql_handoff
    group by model_id

),

mql_handoff_conversions as (

    select
        model_id,
        count(*) as handoffs_converted,
        percentile_cont(0.5) within group (order by days_to_opportunity) as median_days_to_opportunity
    from {{ ref('int_reporting__score_outcomes') }}
    where is_mql_handoff and days_to_opportunity is not null
    group by model_id

),

mql_handoff_outcomes as (

    select
        mql_handoff_counts.model_id,
        mql_handoff_counts.handoffs,
        coalesce(mql_handoff_conversions.handoffs_converted, 0) as handoffs_converted,
        mql_handoff_conversions.median_days_to_opportunity
    from mql_handoff_counts
    left join mql_handoff_conversions
        on mql_handoff_counts.model_id = mql_handoff_conversions.model_id

),

performance as (

    select
        model_cohorts.model_id,
        bands.band_type,
        bands.band,
        bands.band_order,
        band_counts.min_score,
        band_counts.max_score,
        model_cohorts.cohort_first_score_date,
        model_cohorts.cohort_last_score_date,
        model_cohorts.cohort_score_dates,
        model_cohorts.conversion_lookback_days,
        model_cohorts.conversion_window_days,
        model_cohorts.window_complete_through,
        coalesce(band_counts.contacts, 0) as contacts,
        coalesce(band_distinct_contacts.distinct_contacts, 0) as distinct_contacts,
        coalesce(band_counts.converted_to_opportunity, 0) as converted_to_opportunity,
        coalesce(band_counts.converted_to_won, 0) as converted_to_won,
        coalesce(band_counts.contacts_window_complete, 0) as contacts_window_complete,
        coalesce(band_counts.converted_window_complete, 0) as converted_window_complete,
        1.0 * band_counts.converted_to_opportunity / band_counts.contacts as opportunity_rate,
        1.0 * band_counts.converted_to_won / band_counts.contacts as won_rate,
        1.0 * model_cohorts.converted_to_opportunity / model_cohorts.contacts as base_opportunity_rate,
        1.0 * model_cohorts.converted_to_won / model_cohorts.contacts as base_won_rate,
        (bands.band_type = 'stage' and bands.band = 'mql') as is_mql_band
    from model_cohorts
    cross join bands
    left join band_counts
        on
            model_cohorts.model_id = band_counts.model_id
            and bands.band_type = band_counts.band_type
            and bands.band = band_counts.band
    left join band_distinct_contacts
        on
            model_cohorts.model_id = band_distinct_contacts.model_id
            and bands.band_type = band_distinct_contacts.band_type
            and bands.band = band_distinct_contacts.band

)

select
    -- keys
    cast(performance.model_id as {{ dbt.type_string() }}) as model_id,
    cast(performance.band_type as {{ dbt.type_string() }}) as band_type,
    cast(performance.band as {{ dbt.type_string() }}) as band,
    cast(performance.band_order as integer) as band_order,

    -- counts
    cast(performance.contacts as integer) as contacts,
    cast(performance.distinct_contacts as integer) as distinct_contacts,
    cast(performance.min_score as decimal(18, 2)) as min_score,
    cast(performance.max_score as decimal(18, 2)) as max_score,
    cast(performance.converted_to_opportunity as integer) as converted_to_opportunity,
    cast(performance.converted_to_won as integer) as converted_to_won,

    -- rates and lift versus the model's base rate
    cast(round(performance.opportunity_rate, 4) as decimal(18, 4)) as opportunity_rate,
    cast(round(performance.won_rate, 4) as decimal(18, 4)) as won_rate,
    cast(round(performance.base_opportunity_rate, 4) as decimal(18, 4)) as base_opportunity_rate,
    cast(round(performance.base_won_rate, 4) as decimal(18, 4)) as base_won_rate,
    cast(
        round(performance.opportunity_rate / nullif(performance.base_opportunity_rate, 0), 4)
        as decimal(18, 4)
    ) as opportunity_lift,
    cast(
        round(performance.won_rate / nullif(performance.base_won_rate, 0), 4)
        as decimal(18, 4)
    ) as won_lift,

    -- MQL -> opportunity (the mql band only)
    cast(
        case when performance.is_mql_band then coalesce(mql_handoff_outcomes.handoffs, 0) end
        as integer
    ) as handoffs,
    cast(
        case when performance.is_mql_band then coalesce(mql_handoff_outcomes.handoffs_converted, 0) end
        as integer
    ) as handoffs_converted,
    cast(
        case
            when performance.is_mql_band
                then round(1.0 * mql_handoff_outcomes.handoffs_converted / mql_handoff_outcomes.handoffs, 4)
        end
        as decimal(18, 4)
    ) as mql_to_opportunity_rate,
    cast(
        case when performance.is_mql_band then mql_handoff_outcomes.median_days_to_opportunity end
        as decimal(18, 4)
    ) as median_days_to_opportunity,

    -- the cohort and window the row covers
    cast(performance.cohort_first_score_date as date) as cohort_first_score_date,
    cast(performance.cohort_last_score_date as date) as cohort_last_score_date,
    cast(performance.cohort_score_dates as integer) as cohort_score_dates,
    cast(performance.conversion_lookback_days as integer) as conversion_lookback_days,
    cast(performance.conversion_window_days as integer) as conversion_window_days,
    cast(performance.window_complete_through as date) as window_complete_through,
    cast(performance.contacts_window_complete as integer) as contacts_window_complete,
    cast(performance.converted_window_complete as integer) as converted_window_complete

from performance
left join mql_handoff_outcomes
    on performance.model_id = mql_handoff_outcomes.model_id
