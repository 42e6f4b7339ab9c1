{{
    config(
        materialized='incremental',
        incremental_strategy=('insert_overwrite' if target.type == 'spark' else 'delete+insert'),
        partition_by=(['score_date'] if target.type == 'spark' else none),
        unique_key='score_date',
        on_schema_change='append_new_columns',
        pre_hook="{{ clear_score_date() }}",
    )
}}

-- The contacts to hand to sales: one row per contact x model x score date on
-- which its stage became `mql`, i.e. it is `mql` on D and was not `mql` on the
-- model's previous scored date in lead_score_history (the latest date before
-- D). On a model's first scored date every `mql` counts. Quarantined contacts
-- are never `mql`, so never handed off. Rescoring D replaces D's hand-offs;
-- backfills run in date order so that each date sees its predecessor.

-- Each CTE reads history itself, filtered: DuckDB materializes a CTE that is
-- referenced more than once, and history holds every score date.

with

mql_on_score_date as (

    select
        contact_id,
        model_id,
        score_date,
        score,
        mql_at,
        top_reasons
    from {{ ref('lead_score_history') }}
    where
        score_date = {{ score_date() }}
        and stage = 'mql'

),

previous_score_date as (

    select
        model_id,
        max(score_date) as score_date
    from {{ ref('lead_score_history') }}
    where score_date < {{ score_date() }}
    group by model_id

),

mql_on_previous_date as (

    select
        history.contact_id,
        history.model_id
    from {{ ref('lead_score_history') }} as history
    inner join previous_score_date
        on
            history.model_id = previous_score_date.model_id
            and history.score_date = previous_score_date.score_date
    where history.stage = 'mql'

)

select
    -- keys
    mql_on_score_date.contact_id,
    mql_on_score_date.model_id,
    mql_on_score_date.score_date,

    -- metrics
    mql_on_score_date.score,
    mql_on_score_date.mql_at,
    mql_on_score_date.top_reasons

from mql_on_score_date
left join mql_on_previous_date
    on
        mql_on_score_date.contact_id = mql_on_previous_date.contact_id
        and mql_on_score_date.model_id = mql_on_previous_date.model_id
where mql_on_previous_date.contact_id is null
