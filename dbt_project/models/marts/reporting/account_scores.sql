{{ config(**by_score_date_config(pre_hook="{{ clear_score_date(ref('lead_score_history')) }}")) }}

{#- How many of an account's most engaged contacts add up to its engagement
    (dbt var account_top_contacts, default 3). -#}
{%- set top_contacts = var('account_top_contacts', 3) | string | trim -%}
{%- if not top_contacts.isdigit() or top_contacts | int < 1 -%}
    {{ exceptions.raise_compiler_error(
        "var account_top_contacts must be a positive integer, got '" ~ top_contacts ~ "'"
    ) }}
{%- endif %}

-- Account roll-up of lead_score_history, one row per account x model x score
-- date (see account_scores.yml for the formula). An incremental run rolls up
-- the run's score date D and the next scored date after D, whose
-- account_score_change compares with D once D is scored
-- (rebuilt_score_dates), so a backfill fills each date in turn and
-- re-scoring D replaces D's rows; a first build or --full-refresh rolls up
-- every date history holds. account_score_change compares with the model's
-- previous scored date in history (previous_score_date): its roll-up is read
-- from this table when the table holds that date (an earlier run wrote it)
-- and this run does not rebuild it, else rolled up from history here, so a
-- daily run ranks one date's contacts, not two, and the result does not
-- depend on the order dates are built in.

with

{% if is_incremental() -%}
rebuilt_dates as (

    {{ rebuilt_score_dates(ref('lead_score_history')) }}

),

{% endif -%}

accounts as (

    select
        account_id,
        account_name
    from {{ ref('stg_crm__accounts') }}

),

-- Each CTE reads history itself: DuckDB materializes a CTE that is
-- referenced more than once, and history holds every score date.
scored_dates as (

    select distinct
        model_id,
        score_date
    from {{ ref('lead_score_history') }}

),

model_score_dates as (

    select
        model_id,
        score_date,
        lag(score_date) over (
            partition by model_id
            order by score_date
        ) as previous_score_date
    from scored_dates

),

target_dates as (

    select
        model_id,
        score_date,
        previous_score_date
    from model_score_dates
    {% if is_incremental() -%}
        where score_date in (select rebuilt_dates.score_date from rebuilt_dates)
    {%- endif %}

),

{% if is_incremental() -%}
-- the previous dates' roll-ups this table already holds (not those of a date
-- this run rebuilds: they may be stale)
stored_previous as (

    select
        stored.model_id,
        stored.score_date,
        stored.account_id,
        stored.account_score
    from {{ this }} as stored
    inner join target_dates
        on
            stored.model_id = target_dates.model_id
            and stored.score_date = target_dates.previous_score_date
    where stored.score_date not in (select rebuilt_dates.score_date from rebuilt_dates)

),

stored_previous_dates as (

    select distinct
        model_id,
        score_date
    from stored_previous

),

{% endif -%}
rollup_dates as (

    select
        model_id,
        score_date
    from target_dates

    union

    select
        target_dates.model_id,
        target_dates.previous_score_date as score_date
    from target_dates
    {% if is_incremental() -%}
        left join stored_previous_dates
            on
                target_dates.model_id = stored_previous_dates.model_id
                and target_dates.previous_score_date = stored_previous_dates.score_date
        where
            target_dates.previous_score_date is not null
            and stored_previous_dates.score_date is null
    {%- else -%}
        where target_dates.previous_score_date is not null
    {%- endif %}

),

-- Quarantined contacts and contacts without an account take no part.
-- Read by the roll-up and by best_contacts, inlined into both: each reads
-- the rows of its dates from history (materialized, the CTE would be
-- written to a buffer first).
eligible_contacts as {{ cte_inlined() }} (

    select
        history.contact_id,
        history.model_id,
        history.score_date,
        history.account_id,
        history.segment,
        history.fit_score,
        history.engagement_score,
        history.score,
        history.stage
    from {{ ref('lead_score_history') }} as history
    inner join rollup_dates
        on
            history.model_id = rollup_dates.model_id
            and history.score_date = rollup_dates.score_date
    where
        not history.is_quarantined
        and history.account_id is not null

),

-- No ranking window: the top engagement is the sum of the largest positive
-- parts (equal values are interchangeable, so ties do not matter) and the
-- best contact is found by its score below. Two ranking windows over the
-- contacts took ~3 s at 1M contacts (2M rows a date), this ~1 s.
account_rollup as (

    select
        model_id,
        score_date,
        account_id,
        max(segment) as segment,
        count(*) as scored_contacts,
        sum(case when engagement_score > 0 then 1 else 0 end) as engaged_contacts,
        sum(case when stage = 'mql' then 1 else 0 end) as mql_contacts,
        max(fit_score) as best_fit_score,
        coalesce({{ sum_of_largest(
            'case when engagement_score > 0 then engagement_score else 0 end', top_contacts
        ) }}, 0) as top_engagement_score,
        max(score) as best_contact_score
    from eligible_contacts
    group by
        model_id,
        score_date,
        account_id

),

-- the contact with the account's best score; ties to the smallest contact_id
best_contacts as (

    select
        eligible_contacts.model_id,
        eligible_contacts.score_date,
        eligible_contacts.account_id,
        min(eligible_contacts.contact_id) as best_contact_id
    from eligible_contacts
    inner join account_rollup
        on
            eligible_contacts.model_id = account_rollup.model_id
            and eligible_contacts.score_date = account_rollup.score_date
            and eligible_contacts.account_id = account_rollup.account_id
            and eligible_contacts.score = account_rollup.best_contact_score
    group by
        eligible_contacts.model_id,
        eligible_contacts.score_date,
        eligible_contacts.account_id

),

current_rollup as (

    select
        account_rollup.model_id,
        account_rollup.score_date,
        account_rollup.account_id,
        account_rollup.segment,
        account_rollup.scored_contacts,
        account_rollup.engaged_contacts,
        account_rollup.mql_contacts,
        account_rollup.best_fit_score,
        account_rollup.top_engagement_score,
        best_contacts.best_contact_id,
        account_rollup.best_contact_score,
        target_dates.previous_score_date,
        account_rollup.top_engagement_score + account_rollup.best_fit_score as account_score
    from account_rollup
    inner join target_dates
        on
            account_rollup.model_id = target_dates.model_id
            and account_rollup.score_date = target_dates.score_date
    -- (an account whose scores are all null would have none)
    left join best_contacts
        on
            account_rollup.model_id = best_contacts.model_id
            and account_rollup.score_date = best_contacts.score_date
            and account_rollup.account_id = best_contacts.account_id

),

previous_rollup as (

    select
        model_id,
        score_date,
        account_id,
        top_engagement_score + best_fit_score as account_score
    from account_rollup
    {%- if is_incremental() %}

    union all

    select
        model_id,
        score_date,
        account_id,
        account_score
    from stored_previous
    {%- endif %}

)

select
    -- keys
    cast(current_rollup.account_id as {{ dbt.type_string() }}) as account_id,
    cast(current_rollup.model_id as {{ dbt.type_string() }}) as model_id,
    cast(current_rollup.score_date as date) as score_date,

    -- the roll-up
    cast(current_rollup.account_score as decimal(18, 2)) as account_score,
    cast(current_rollup.engaged_contacts as integer) as engaged_contacts,
    cast(current_rollup.best_contact_id as {{ dbt.type_string() }}) as best_contact_id,

    -- attributes
    cast(accounts.account_name as {{ dbt.type_string() }}) as account_name,
    cast(current_rollup.segment as {{ dbt.type_string() }}) as segment,

    -- the parts of the roll-up
    cast(current_rollup.scored_contacts as integer) as scored_contacts,
    cast(current_rollup.mql_contacts as integer) as mql_contacts,
    cast(current_rollup.best_fit_score as decimal(18, 2)) as best_fit_score,
    cast(current_rollup.top_engagement_score as decimal(18, 2)) as top_engagement_score,
    cast(current_rollup.best_contact_score as decimal(18, 2)) as best_contact_score,

    -- change since the model's previous scored date
    cast(current_rollup.previous_score_date as date) as previous_score_date,
    cast(
        current_rollup.account_score - previous_rollup.account_score as decimal(18, 2)
    ) as account_score_change

from current_rollup
left join previous_rollup
    on
        current_rollup.model_id = previous_rollup.model_id
        and current_rollup.account_id = previous_rollup.account_id
        and current_rollup.previous_score_date = previous_rollup.score_date
left join accounts
    on current_rollup.account_id = accounts.account_id
