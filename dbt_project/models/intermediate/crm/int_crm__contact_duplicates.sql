-- One row per contact: which contact it is scored as. Contacts sharing the
-- same non-empty normalized email are one person; the canonical contact is
-- the earliest created, then the smallest id (SPEC section 4, Duplicates).

with

contacts as (

    select
        contact_id,
        email_normalized,
        created_at
    from {{ ref('stg_crm__contacts') }}

),

ranked as (

    select
        contact_id,
        email_normalized,
        first_value(contact_id) over (
            partition by email_normalized
            order by created_at, contact_id
        ) as first_contact_id
    from contacts

),

final as (

    select
        contact_id,
        case
            when email_normalized is null then contact_id
            else first_contact_id
        end as canonical_contact_id
    from ranked

)

select
    contact_id,
    canonical_contact_id,
    contact_id != canonical_contact_id as is_duplicate
from final
