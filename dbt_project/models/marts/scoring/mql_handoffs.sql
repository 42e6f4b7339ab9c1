{{ config(**by_score_date_config(pre_hook="{{ clear_score_date(ref('lead_score_history')) }}")) }}

-- The contacts to hand to sales: one row per contact x model x score date on
-- which its stage became `mql`, i.e. it is `mql` on that date and was not
-- `mql` on the model's previous scored date in lead_score_history (the latest
-- date before it). On a model's first scored date every `mql` counts.
-- Quarantined contacts are never `mql`, so never handed off.
-- An incremental run rebuilds D and the next scored date after D, whose
-- predecessor D may just have become (rebuilt_score_dates): a backfill or a
-- rescored past date leaves every date compared with its true predecessor,
-- in whatever order dates are scored. A first build or --full-refresh builds
-- every date history holds.

{#- The dates built: from D to the last rebuilt date on an incremental run,
    else every date. -#}
{%- set built_from = score_date() if is_incremental() else "cast('0001-01-01' as date)" -%}
{%- set built_to = (
    "(select max(rebuilt_dates.score_date) from rebuilt_dates)"
    if is_incremental() else "cast('9999-12-31' as date)"
) %}

-- Each CTE reads history itself, filtered: DuckDB materializes a CTE that is
-- referenced more than once, and history holds every score date.

with

{% if is_incremental() -%}
rebuilt_dates as (

    {{ rebuilt_score_dates(ref('lead_score_history')) }}

),

{% endif -%}
-- the model's scored dates the lag below needs: the latest before the first
-- date built (a cheap aggregate, where a distinct over every date of history
-- is not) and those from it on
model_dates as (

    select
        model_id,
        max(score_date) as score_date
    from {{ ref('lead_score_history') }}
    where score_date < {{ built_from }}
    group by model_id

    union

    select distinct
        model_id,
        score_date
    from {{ ref('lead_score_history') }}
    where
        score_date >= {{ built_from }}
        and score_date <= {{ built_to }}

),

-- the dates built, each with the model's previous scored date
target_dates as (

    select
        model_id,
        score_date,
        previous_score_date
    from (
        select
            model_id,
            score_date,
            lag(score_date) over (
                partition by model_id
                order by score_date
            ) as previous_score_date
        from model_dates
    ) as dated
    {%- if is_incremental() %}
        where score_date in (select rebuilt_dates.score_date from rebuilt_dates)
    {%- endif %}

),

mql_on_target_date as (

    select
        history.contact_id,
        history.model_id,
        history.score_date,
        history.score,
        history.mql_at,
        history.top_reasons,
        target_dates.previous_score_date
    from {{ ref('lead_score_history') }} as history
    inner join target_dates
        on
            history.model_id = target_dates.model_id
            and history.score_date = target_dates.score_date
    -- every date built is built_from or later: the bound lets Spark skip the
    -- other partitions
    where
        history.stage = 'mql'
        and history.score_date >= {{ built_from }}

),

mql_on_previous_date as (

    select
        history.contact_id,
        history.model_id,
        history.score_date
    from {{ ref('lead_score_history') }} as history
    inner join target_dates
        on
            history.model_id = target_dates.model_id
            and history.score_date = target_dates.previous_score_date
    where history.stage = 'mql'

)

select
    -- keys
    mql_on_target_date.contact_id,
    mql_on_target_date.model_id,
    mql_on_target_date.score_date,

    -- metrics
    mql_on_target_date.score,
    mql_on_target_date.mql_at,
    mql_on_target_date.top_reasons

from mql_on_target_date
left join mql_on_previous_date
    on
        mql_on_target_date.contact_id = mql_on_previous_date.contact_id
        and mql_on_target_date.model_id = mql_on_previous_date.model_id
        and mql_on_target_date.previous_score_date = mql_on_previous_date.score_date
where mql_on_previous_date.contact_id is null
