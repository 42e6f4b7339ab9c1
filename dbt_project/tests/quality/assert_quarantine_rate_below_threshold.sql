-- The quarantine-rate batch check (SPEC section 5, expectations/README.md):
-- fails the dbt build, and so blocks publishing, when more than
-- var quality_max_quarantine_rate (default 0.25) of the contacts carry a
-- quality flag. A jump like that is a broken export, a spam wave or a broken
-- rule, not a normal day. Fewer than var quality_quarantine_min_contacts
-- (default 100) contacts are too few for a rate to mean anything.

{{ config(severity='error', meta={'dagster': {'ref': {'name': 'int_quality__contact_flags'}}}) }}

with

contacts as (

    select count(*) as contact_count
    from {{ ref('stg_crm__contacts') }}

),

quarantined as (

    select count(distinct contact_id) as quarantined_count
    from {{ ref('int_quality__contact_flags') }}

),

rate as (

    select
        contacts.contact_count,
        quarantined.quarantined_count,
        quarantined.quarantined_count * 1.0 / nullif(contacts.contact_count, 0) as quarantine_rate,
        cast({{ var('quality_max_quarantine_rate', 0.25) }} as double) as max_quarantine_rate
    from contacts
    cross join quarantined

)

select
    contact_count,
    quarantined_count,
    quarantine_rate,
    max_quarantine_rate
from rate
where
    contact_count >= {{ var('quality_quarantine_min_contacts', 100) }}
    and quarantine_rate > max_quarantine_rate
