-- One row per contact: its email taken apart (local part, plus-tag, domain,
-- registrable domain) with the syntax verdict of quality/email_checks, and
-- its trimmed names. Every contact quality rule reads from here.

with

contacts as (

    select
        contact_id,
        email_normalized,
        first_name,
        last_name
    from {{ ref('stg_crm__contacts') }}

),

email_checks as (

    select
        email_normalized,
        is_valid_syntax,
        invalid_reason,
        email_domain,
        registrable_domain
    from {{ ref('stg_quality__email_checks') }}

),

joined as (

    select
        -- ids
        contacts.contact_id,

        -- strings
        contacts.email_normalized,
        email_checks.email_domain,
        email_checks.registrable_domain,
        email_checks.invalid_reason,

        -- booleans
        email_checks.is_valid_syntax,

        -- derived: everything before the last '@' (a quoted local part may hold an '@')
        regexp_extract(contacts.email_normalized, '^(.*)@[^@]*$', 1) as email_local_part,
        nullif(trim(contacts.first_name), '') as first_name,
        nullif(trim(contacts.last_name), '') as last_name,
        email_checks.email_normalized is not null as is_email_checked

    from contacts
    left join email_checks
        on contacts.email_normalized = email_checks.email_normalized

),

final as (

    select
        contact_id,
        email_normalized,
        email_local_part,
        email_domain,
        registrable_domain,
        invalid_reason,
        first_name,
        last_name,
        is_email_checked,
        -- plus-addressing: info+events@ is the mailbox info@
        split_part(email_local_part, '+', 1) as email_mailbox,
        case
            when first_name is not null and last_name is not null
                then first_name || ' ' || last_name
        end as full_name,
        coalesce(is_valid_syntax, false) as is_valid_syntax
    from joined

)

select * from final
