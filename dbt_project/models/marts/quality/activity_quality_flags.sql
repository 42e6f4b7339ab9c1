-- The published bot-activity flags: one row per activity kept but not scored
-- from its applies_from_date on (SPEC section 5), so BI can see what was
-- discarded and why. A plain
-- projection of int_quality__activity_flags without its bookkeeping columns.

with

activity_flags as (

    select
        activity_id,
        contact_id,
        flag,
        detail,
        applies_from_date
    from {{ ref('int_quality__activity_flags') }}

)

select
    -- ids
    cast(activity_id as {{ dbt.type_string() }}) as activity_id,
    cast(contact_id as {{ dbt.type_string() }}) as contact_id,

    -- strings
    cast(flag as {{ dbt.type_string() }}) as flag,
    cast(detail as {{ dbt.type_string() }}) as detail,

    -- dates
    cast(applies_from_date as date) as applies_from_date

from activity_flags
