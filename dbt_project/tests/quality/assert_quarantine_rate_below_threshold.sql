-- The quarantine-rate batch check (SPEC section 5, expectations/README.md):
-- fails the dbt build, and so blocks publishing, when more than
-- quarantine_max_rate() (LEADSCORE_MAX_QUARANTINE_RATE, default 0.25) of the
-- contacts carry a quality flag. A jump like that is a broken export, a spam
-- wave or a broken rule, not a normal day. Fewer than
-- quarantine_min_contacts() (LEADSCORE_QUARANTINE_MIN_CONTACTS, default 100)
-- contacts are too few for a rate to mean anything. Both settings:
-- macros/quality/quarantine_rate_settings.sql.
--
-- The rate is the score date's: of the contacts created on or before D (the
-- contacts D scores, SPEC section 4), the share with a flag. Contacts created
-- later neither dilute nor inflate a backfilled date's rate. The failing row
-- says which flags make the rate (a count per flag) and names the first
-- flagged contacts; all of them are in intermediate.int_quality__contact_flags.

{{ config(severity='error', meta={'dagster': {'ref': {'name': 'int_quality__contact_flags'}}}) }}

with

scored_contacts as (

    select contact_id
    from {{ ref('stg_crm__contacts') }}
    where created_at < {{ dbt.dateadd('day', 1, score_date()) }}

),

flags as (

    select
        contact_flags.contact_id,
        contact_flags.flag
    from {{ ref('int_quality__contact_flags') }} as contact_flags
    inner join scored_contacts
        on contact_flags.contact_id = scored_contacts.contact_id

),

contacts as (

    select count(*) as contact_count
    from scored_contacts

),

quarantined as (

    select count(distinct contact_id) as quarantined_count
    from flags

),

flag_counts as (

    select {{ dbt.concat(['flag', "' '", 'cast(count(*) as ' ~ dbt.type_string() ~ ')']) }} as flag_count
    from flags
    group by flag

),

by_flag as (

    select {{ dbt.listagg('flag_count', "', '", 'order by flag_count') }} as contacts_by_flag
    from flag_counts

),

flagged_contacts as (

    select distinct contact_id
    from flags

),

examples as (

    select
        {{ dbt.listagg('contact_id', "', '", 'order by contact_id', 5) }} as first_flagged_contacts
    from flagged_contacts

),

rate as (

    select
        contacts.contact_count,
        quarantined.quarantined_count,
        quarantined.quarantined_count * 1.0 / nullif(contacts.contact_count, 0) as quarantine_rate,
        cast({{ quarantine_max_rate() }} as double) as max_quarantine_rate,
        by_flag.contacts_by_flag,
        examples.first_flagged_contacts
    from contacts
    cross join quarantined
    cross join by_flag
    cross join examples

)

select
    contact_count,
    quarantined_count,
    quarantine_rate,
    max_quarantine_rate,
    contacts_by_flag,
    first_flagged_contacts
from rate
where
    contact_count >= {{ quarantine_min_contacts() }}
    and quarantine_rate > max_quarantine_rate
