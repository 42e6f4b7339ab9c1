-- The published contact quality flags (SPEC section 6): one row per contact x
-- flag. A contact listed here is quarantined in lead_scores.

with

contact_flags as (

    select
        contact_id,
        flag,
        detail,
        flagged_at
    from {{ ref('int_quality__contact_flags') }}

)

select
    -- ids
    cast(contact_id as {{ dbt.type_string() }}) as contact_id,

    -- strings
    cast(flag as {{ dbt.type_string() }}) as flag,
    cast(detail as {{ dbt.type_string() }}) as detail,

    -- timestamps
    cast(flagged_at as {{ dbt.type_timestamp() }}) as flagged_at

from contact_flags
