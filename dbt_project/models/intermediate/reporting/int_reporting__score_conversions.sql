{{ config(materialized='view') }}

{#- The conversion window around each score date D, in days (dbt vars):
    an opportunity counts when it was created between D - lookback and
    D + window (calendar dates, inclusive). -#}
{%- set window_days = var('conversion_window_days', 90) | string | trim -%}
{%- set lookback_days = var('conversion_lookback_days', 90) | string | trim -%}
{%- for name, value in [
    ('conversion_window_days', window_days),
    ('conversion_lookback_days', lookback_days),
] -%}
    {%- if not value.isdigit() -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ name ~ " must be a whole number of days (0 or more), got '" ~ value ~ "'"
        ) }}
    {%- endif -%}
{%- endfor %}

-- One row per contact x model x score date of lead_score_history (the
-- performance cohort) with the contact's score decile on that date and what
-- happened: opportunities created for the contact (or, for an opportunity
-- without a contact, for its account) within the conversion window around
-- the score date. score_performance aggregates this by band.
-- A view: the deciles are stored per date (int_reporting__score_deciles), the
-- outcomes change as opportunities arrive and are joined when read, so no
-- run rewrites a table the size of the whole history.

with

deciles as (

    select
        contact_id,
        model_id,
        score_date,
        account_id,
        score,
        stage,
        is_quarantined,
        score_decile,
        is_mql_handoff
    from {{ ref('int_reporting__score_deciles') }}

),

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
-- contact belongs to every contact of its account.
-- Here and in as_of the deciles are read from the table, not through the
-- deciles CTE: DuckDB materializes a CTE that is referenced more than once,
-- and this view spans every score date of history (at 1M contacts and 90
-- days, materializing it made score_performance take 139 s).
matched_opportunities as (

    select
        deciles.contact_id,
        deciles.model_id,
        deciles.score_date,
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
        is_won,
        -- the adapter's datediff renders as one long line
        {{ dbt.datediff('score_date', 'created_date', 'day') }} as days_from_score_date -- noqa: LT05
    from matched_opportunities

),

outcomes as (

    select
        contact_id,
        model_id,
        score_date,
        count(*) as opportunities_in_window,
        sum(case when is_won then 1 else 0 end) as won_opportunities_in_window,
        min(case when days_from_score_date >= 0 then days_from_score_date end) as days_to_opportunity
    from opportunity_days
    where days_from_score_date between -{{ lookback_days }} and {{ window_days }}
    group by
        contact_id,
        model_id,
        score_date

),

as_of as (

    select max(score_date) as as_of_date
    from {{ ref('int_reporting__score_deciles') }}

)

select
    -- keys
    deciles.contact_id,
    deciles.model_id,
    deciles.score_date,
    deciles.account_id,

    -- the score and its bands
    deciles.score,
    deciles.stage,
    deciles.is_quarantined,
    deciles.score_decile,
    deciles.is_mql_handoff,

    -- outcomes within the window
    coalesce(outcomes.opportunities_in_window, 0) > 0 as has_opportunity,
    coalesce(outcomes.won_opportunities_in_window, 0) > 0 as has_won_opportunity,
    outcomes.days_to_opportunity,

    -- the window
    {{ lookback_days }} as conversion_lookback_days,
    {{ window_days }} as conversion_window_days,
    {{ dbt.dateadd('day', window_days, 'deciles.score_date') }} <= as_of.as_of_date as is_window_complete

from deciles
cross join as_of
left join outcomes
    on
        deciles.contact_id = outcomes.contact_id
        and deciles.model_id = outcomes.model_id
        and deciles.score_date = outcomes.score_date
