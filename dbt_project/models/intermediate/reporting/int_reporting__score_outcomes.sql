{{ config(materialized='view') }}

{%- set window_days = conversion_days('conversion_window_days') -%}
{%- set lookback_days = conversion_days('conversion_lookback_days') %}

-- The conversions of the score_performance cohort: one row per contact x
-- model x score date of int_reporting__score_deciles that has an opportunity
-- created for the contact (or, for an opportunity without a contact, for its
-- account) within the conversion window around the score date. A scored
-- contact without one has no row. score_performance counts the cohort on the
-- deciles and the conversions here, so no query joins outcomes to every row
-- of history (at 1M contacts x 90 days of history, banding the cohort through
-- a view of every row with its outcome took 38 s).
-- A view: the outcomes change as opportunities arrive.

with

opportunities as (

    select
        opportunity_id,
        account_id,
        contact_id,
        is_won,
        cast(created_at as date) as created_date
    from {{ ref('stg_crm__opportunities') }}

),

-- An opportunity with a contact belongs to that contact; one without a
-- contact belongs to every contact of its account. Each branch reads the
-- deciles table itself: DuckDB materializes a CTE that is referenced more
-- than once, and the deciles span every score date of history.
matched_opportunities as (

    select
        deciles.contact_id,
        deciles.model_id,
        deciles.score_date,
        deciles.score_decile,
        deciles.stage,
        deciles.is_mql_handoff,
        opportunities.is_won,
        opportunities.created_date
    from {{ ref('int_reporting__score_deciles') }} as deciles
    inner join opportunities
        on deciles.contact_id = opportunities.contact_id

    union all

    select
        deciles.contact_id,
        deciles.model_id,
        deciles.score_date,
        deciles.score_decile,
        deciles.stage,
        deciles.is_mql_handoff,
        opportunities.is_won,
        opportunities.created_date
    from {{ ref('int_reporting__score_deciles') }} as deciles
    inner join opportunities
        on
            deciles.account_id = opportunities.account_id
            and opportunities.contact_id is null

),

opportunity_days as (

    select
        contact_id,
        model_id,
        score_date,
        score_decile,
        stage,
        is_mql_handoff,
        is_won,
        -- the adapter's datediff renders as one long line
        {{ dbt.datediff('score_date', 'created_date', 'day') }} as days_from_score_date -- noqa: LT05
    from matched_opportunities

)

select
    -- keys
    contact_id,
    model_id,
    score_date,

    -- the contact's bands on the score date (from the deciles)
    score_decile,
    stage,
    is_mql_handoff,

    -- outcomes within the window
    count(*) as opportunities_in_window,
    sum(case when is_won then 1 else 0 end) > 0 as has_won_opportunity,
    min(case when days_from_score_date >= 0 then days_from_score_date end) as days_to_opportunity,

    -- the window
    {{ lookback_days }} as conversion_lookback_days,
    {{ window_days }} as conversion_window_days

from opportunity_days
where days_from_score_date between -{{ lookback_days }} and {{ window_days }}
group by
    contact_id,
    model_id,
    score_date,
    score_decile,
    stage,
    is_mql_handoff
