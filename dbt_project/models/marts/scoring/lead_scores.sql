-- The current scores: the rows of lead_score_history for the latest score
-- date it holds, one row per contact x model. Rescoring an older date (a
-- backfill) changes history but not this table.

-- Each CTE reads history once: DuckDB materializes a CTE that is referenced
-- twice, and history holds every score date (at 1M contacts, 90 days of
-- history are 184M rows; materializing them spilled 60 GB to disk).

with

history as (

    select * from {{ ref('lead_score_history') }}

),

latest_score_date as (

    select max(score_date) as score_date
    from {{ ref('lead_score_history') }}

)

select
    history.contact_id,
    history.model_id,
    history.score_date,
    history.account_id,
    history.segment,
    history.fit_score,
    history.engagement_score,
    history.score,
    history.fit_grade,
    history.engagement_level,
    history.matrix_cell,
    history.stage,
    history.warm_at,
    history.mql_at,
    history.is_quarantined,
    history.top_reasons,
    history.engagement_points,
    history.penalty
from history
inner join latest_score_date
    on history.score_date = latest_score_date.score_date
