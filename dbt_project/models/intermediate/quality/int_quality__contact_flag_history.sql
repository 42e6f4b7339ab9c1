{{ config(**by_score_date_config(pre_hook="{{ clear_score_date() }}")) }}

-- The contact quality flags of every score date, one row per contact x flag
-- x date, kept the way lead_score_history keeps scores: scoring a date
-- replaces that date's rows and only those. contact_quality_flags shows the
-- latest scored date's rows from here (so a backfill of an earlier date does
-- not replace the current flags) and dates each flag from the first date of
-- its current unbroken run of scored dates (int_quality__flag_score_dates
-- lists them, flagless dates included). Like scores, a date holds only the
-- contacts created on or before it (SPEC section 4): a backfill does not
-- date a flag before its contact existed.

with

contact_flags as (

    select
        contact_id,
        flag,
        detail
    from {{ ref('int_quality__contact_flags') }}

),

contacts as (

    select contact_id
    from {{ ref('stg_crm__contacts') }}
    where created_at < {{ dbt.dateadd('day', 1, score_date()) }}

)

select
    cast(contact_flags.contact_id as {{ dbt.type_string() }}) as contact_id,
    cast(contact_flags.flag as {{ dbt.type_string() }}) as flag,
    {{ score_date() }} as score_date,
    cast(contact_flags.detail as {{ dbt.type_string() }}) as detail
from contact_flags
inner join contacts
    on contact_flags.contact_id = contacts.contact_id
