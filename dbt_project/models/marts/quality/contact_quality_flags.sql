-- The published contact quality flags (SPEC section 6): one row per contact x
-- flag, as of the latest scored date (int_quality__flag_score_dates; the
-- date lead_scores shows: a backfill of an earlier date leaves this table as
-- it was). A contact listed here is quarantined in lead_scores.
--
-- flagged_at is the first date of the flag's current unbroken run of scored
-- dates: a flag raised on 03-02 and still there on 03-31 says 03-02; one
-- cleared on 03-10 and raised again on 03-20 says 03-20. The scored dates
-- come from int_quality__flag_score_dates, which holds dates without any
-- flag too.
--
-- Each CTE reads the flag history itself: DuckDB materializes a CTE that is
-- referenced twice, and the history grows by a date every run.

with

recorded_dates as (

    select score_date
    from {{ ref('int_quality__flag_score_dates') }}

),

latest_date as (

    select max(score_date) as score_date
    from recorded_dates

),

-- consecutive numbers for consecutive recorded dates
ranked_dates as (

    select
        score_date,
        row_number() over (order by score_date) as date_rank
    from recorded_dates

),

current_flags as (

    select
        flag_history.contact_id,
        flag_history.flag,
        flag_history.detail,
        flag_history.score_date
    from {{ ref('int_quality__contact_flag_history') }} as flag_history
    inner join latest_date
        on flag_history.score_date = latest_date.score_date

),

-- every date each current flag was recorded on; within one unbroken run,
-- date_rank minus the flag's own row number is constant
flag_runs as (

    select
        flag_history.contact_id,
        flag_history.flag,
        flag_history.score_date,
        ranked_dates.date_rank - row_number() over (
            partition by flag_history.contact_id, flag_history.flag
            order by flag_history.score_date
        ) as run_key
    from {{ ref('int_quality__contact_flag_history') }} as flag_history
    inner join ranked_dates
        on flag_history.score_date = ranked_dates.score_date
    inner join current_flags
        on
            flag_history.contact_id = current_flags.contact_id
            and flag_history.flag = current_flags.flag

),

runs as (

    select
        contact_id,
        flag,
        min(score_date) as first_date,
        max(score_date) as last_date
    from flag_runs
    group by
        contact_id,
        flag,
        run_key

)

select
    -- ids
    cast(current_flags.contact_id as {{ dbt.type_string() }}) as contact_id,

    -- strings
    cast(current_flags.flag as {{ dbt.type_string() }}) as flag,
    cast(current_flags.detail as {{ dbt.type_string() }}) as detail,

    -- timestamps
    cast(runs.first_date as {{ dbt.type_timestamp() }}) as flagged_at

from current_flags
inner join runs
    on
        current_flags.contact_id = runs.contact_id
        and current_flags.flag = runs.flag
        and current_flags.score_date = runs.last_date
