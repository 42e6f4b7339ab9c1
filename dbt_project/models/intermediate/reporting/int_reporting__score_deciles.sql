{{ config(**by_score_date_config(
    pre_hook="{{ clear_score_date(ref('lead_score_history')) }}",
    post_hook="{{ drop_dates_not_in(ref('lead_score_history')) }}",
)) }}

-- The fixed part of the score_performance cohort: one row per contact x model
-- x score date of lead_score_history, with the contact's score decile among
-- the model's contacts on that date and whether it was handed off that day.
-- None of it changes unless the date is re-scored, so the table is
-- incremental: a run computes its score date (re-scoring replaces it), the
-- next scored date (whose hand-offs the same run rebuilds) and any date of
-- history still missing here (a first build computes every date); a
-- post-hook removes dates no longer in history. The outcomes, which do
-- change as opportunities arrive, are in int_reporting__score_outcomes.

with

{% if is_incremental() %}
-- distinct before except: both tables hold every score date's rows, and
-- DuckDB's except hashed all of them (5.8 s at 184M rows, against 0.2 s)
missing_dates as (

    select distinct score_date from {{ ref('lead_score_history') }}

    except

    select distinct score_date from {{ this }}

),

-- the run's date and the next scored date, whose hand-offs mql_handoffs
-- rebuilds with it, and any date missing here
dates_to_build as (

    {{ rebuilt_score_dates(ref('lead_score_history')) }}

    union

    select score_date from missing_dates

),
{% endif %}

-- read by the score counts and by ranked: inlined into both, each reads the
-- dates' rows from history (materialized, they would be written to a buffer)
history as {{ cte_inlined() }} (

    select
        contact_id,
        model_id,
        score_date,
        account_id,
        score,
        stage,
        is_quarantined
    from {{ ref('lead_score_history') }}
    {%- if is_incremental() %}
        where score_date in (select dates_to_build.score_date from dates_to_build)
    {%- endif %}

),

handoffs as (

    select
        contact_id,
        model_id,
        score_date
    from {{ ref('mql_handoffs') }}
    {%- if is_incremental() %}
        where score_date in (select dates_to_build.score_date from dates_to_build)
    {%- endif %}

),

-- Deciles within each model and score date: decile = ceil(10 x share of the
-- date's contacts scoring at or below this score), so 10 = top and the top
-- scorer is always in decile 10. Equal scores share a decile (a band never
-- splits a tie on an arbitrary order); with many ties some deciles are empty.
-- The running count runs over the distinct scores, not over the contacts:
-- at 1M contacts (2M rows a date) a window over every row sorted them in
-- 2.7-4.1 s, this takes 1.1-1.8 s.
score_counts as (

    select
        model_id,
        score_date,
        score,
        count(*) as contacts_at_score
    from history
    group by
        model_id,
        score_date,
        score

),

score_ranks as (

    select
        model_id,
        score_date,
        score,
        sum(contacts_at_score) over (
            partition by model_id, score_date
            order by score asc
            rows between unbounded preceding and current row
        ) as contacts_at_or_below,
        sum(contacts_at_score) over (
            partition by model_id, score_date
        ) as contacts_on_date
    from score_counts

),

ranked as (

    select
        history.contact_id,
        history.model_id,
        history.score_date,
        history.account_id,
        history.score,
        history.stage,
        history.is_quarantined,
        score_ranks.contacts_at_or_below,
        score_ranks.contacts_on_date
    from history
    inner join score_ranks
        on
            history.model_id = score_ranks.model_id
            and history.score_date = score_ranks.score_date
            and history.score is not distinct from score_ranks.score

)

select
    ranked.contact_id,
    ranked.model_id,
    ranked.score_date,
    ranked.account_id,
    ranked.score,
    ranked.stage,
    ranked.is_quarantined,
    cast(
        ceil(10.0 * ranked.contacts_at_or_below / ranked.contacts_on_date) as integer
    ) as score_decile,
    handoffs.contact_id is not null as is_mql_handoff
from ranked
left join handoffs
    on
        ranked.contact_id = handoffs.contact_id
        and ranked.model_id = handoffs.model_id
        and ranked.score_date = handoffs.score_date
