-- Contact quality flags, one row per contact x flag (SPEC section 5). Any row
-- quarantines the contact: still scored and visible, stage disqualified,
-- never mql, never handed off. The rules are data (seeds quality_*); the
-- rule of each flag is documented in int_quality__contact_flags.yml.
--
-- Regular-expression rules are read from the seed when the model runs and
-- written into the SQL as constants: DuckDB compiles a constant pattern once,
-- but a pattern taken from a joined column once per row (a million contacts
-- times a few dozen rules would take minutes instead of a second).

{%- set regex_rules = [] -%}
{%- if execute -%}
    {%- set seed_relation = load_relation(ref('quality_fake_patterns')) -%}
    {#- Missing only outside a build (compile, lint); a build seeds it first. -#}
    {%- if seed_relation is not none -%}
        {%- set regex_rules = run_query(
            "select rule_id, lower(applies_to) as applies_to, pattern from " ~ seed_relation
            ~ " where lower(match_type) = 'regex' order by rule_id, applies_to, pattern"
        ).rows -%}
    {%- endif -%}
{%- endif %}

{#- The mailbox and domain rules judge only a parseable address: a broken one
    is invalid_email and nothing else. Every CTE reads the contacts' table
    itself, not a shared CTE: DuckDB materializes a CTE referenced more than
    once, and a `contacts` CTE read five times wrote every column of every
    contact to a temporary table (10M contacts: 37 s, 19 s this way). #}
{%- set valid_emails = '(select * from ' ~ ref('int_quality__contact_emails') ~ ' where is_valid_syntax)' %}

with

role_prefixes as (

    select lower(trim(local_part)) as local_part
    from {{ ref('quality_role_prefixes') }}

),

test_domains as (

    select
        lower(trim(match_type)) as match_type,
        lower(trim(domain)) as test_domain
    from {{ ref('quality_test_domains') }}

),

exact_fake_patterns as (

    select
        rule_id,
        lower(trim(applies_to)) as applies_to,
        lower(trim(pattern)) as pattern
    from {{ ref('quality_fake_patterns') }}
    where lower(match_type) = 'exact'

),

disposable_domains as (

    select disposable_domain from {{ ref('stg_quality__disposable_email_domains') }}

),

duplicates as (

    select
        contact_id,
        canonical_contact_id
    from {{ ref('int_crm__contact_duplicates') }}
    where is_duplicate

),

-- every value the fake-pattern rules test, tagged with the seed's applies_to;
-- inlined into its two readers (the distinct values and the join back)
fake_candidates as {{ cte_inlined() }} (

    select
        contact_id,
        'email_local' as applies_to,
        'email' as field_label,
        email_mailbox as candidate_value,
        email_normalized as display_value
    from {{ valid_emails }} as valid_emails
    where email_mailbox != ''

    union all

    select
        contact_id,
        'any_name' as applies_to,
        'first name' as field_label,
        lower(first_name) as candidate_value,
        first_name as display_value
    from {{ ref('int_quality__contact_emails') }}
    where first_name is not null

    union all

    select
        contact_id,
        'any_name' as applies_to,
        'last name' as field_label,
        lower(last_name) as candidate_value,
        last_name as display_value
    from {{ ref('int_quality__contact_emails') }}
    where last_name is not null

    union all

    select
        contact_id,
        'full_name' as applies_to,
        'name' as field_label,
        lower(full_name) as candidate_value,
        full_name as display_value
    from {{ ref('int_quality__contact_emails') }}
    where full_name is not null

),

invalid_email as (

    select
        contact_id,
        'invalid_email' as flag,
        case
            when email_normalized is null then 'email missing'
            else
                'invalid syntax: ' || email_normalized
                || ' (' || coalesce(invalid_reason, 'no reason given') || ')'
        end as detail
    from {{ ref('int_quality__contact_emails') }}
    -- an email without a verdict is caught by test assert_every_contact_email_checked
    where email_normalized is null or (is_email_checked and not is_valid_syntax)

),

-- The domain rules judge each distinct domain once (at 1M contacts, 160k
-- domains), and their verdicts are joined back to the addresses.
email_domains as (

    select distinct
        email_domain as domain_key,
        email_domain,
        registrable_domain
    from {{ valid_emails }} as valid_emails

),

-- the address's domain and each parent of it with two labels or more
-- (mx.zouz.fr.nf -> zouz.fr.nf, fr.nf): a list entry may sit at, above or
-- below the registrable domain, so the registrable domain alone is not enough
email_parent_domains as (

    {{ domain_with_parents('email_domains', 'domain_key', 'email_domain') }}

),

disposable_domain_hits as (

    select
        email_parent_domains.email_domain,
        'disposable domain ' || disposable_domains.disposable_domain
        || case
            when email_parent_domains.email_domain != disposable_domains.disposable_domain
                then ' (address at ' || email_parent_domains.email_domain || ')'
            else ''
        end as detail
    from email_parent_domains
    inner join disposable_domains
        on email_parent_domains.parent_domain = disposable_domains.disposable_domain

),

disposable_email as (

    select
        valid_emails.contact_id,
        'disposable_email' as flag,
        disposable_domain_hits.detail
    from {{ valid_emails }} as valid_emails
    inner join disposable_domain_hits
        on valid_emails.email_domain = disposable_domain_hits.email_domain

),

role_account as (

    select
        valid_emails.contact_id,
        'role_account' as flag,
        'role mailbox ' || role_prefixes.local_part || '@ (' || valid_emails.email_normalized || ')'
            as detail
    from {{ valid_emails }} as valid_emails
    inner join role_prefixes
        on valid_emails.email_mailbox = role_prefixes.local_part

),

test_domain_matches as (

    select
        email_domains.email_domain,
        email_domains.registrable_domain,
        'test domain ' || email_domains.email_domain
        || case
            when test_domains.match_type = 'suffix' then ' (reserved name .' || test_domains.test_domain || ')'
            when
                email_domains.email_domain != test_domains.test_domain
                then ' (under ' || test_domains.test_domain || ')'
            else ''
        end as detail
    from email_domains
    inner join test_domains
        on (
            test_domains.match_type = 'exact'
            and test_domains.test_domain in (email_domains.email_domain, email_domains.registrable_domain)
        )
        or (
            test_domains.match_type = 'suffix'
            and (
                email_domains.email_domain = test_domains.test_domain
                or right(email_domains.email_domain, length(test_domains.test_domain) + 1)
                = '.' || test_domains.test_domain
            )
        )

),

test_domain_hits as (

    select
        valid_emails.contact_id,
        'test_or_fake' as flag,
        test_domain_matches.detail
    from {{ valid_emails }} as valid_emails
    inner join test_domain_matches
        on
            valid_emails.email_domain = test_domain_matches.email_domain
            and valid_emails.registrable_domain is not distinct from test_domain_matches.registrable_domain

),

-- The rules test each distinct value once, not each contact's: names and
-- mailboxes repeat (at 1M generated contacts, 4M values are 190k distinct
-- ones; a real CRM's repeat less, but first and last names still do), and
-- the regular expressions are the cost (contact flags 2.7-3.5 s against
-- 1.1-1.6 s this way, on that data).
fake_values as (

    select distinct
        applies_to,
        candidate_value
    from fake_candidates

),

fake_value_matches as (

    select
        fake_values.applies_to,
        fake_values.candidate_value,
        exact_fake_patterns.rule_id
    from fake_values
    inner join exact_fake_patterns
        on
            fake_values.applies_to = exact_fake_patterns.applies_to
            and fake_values.candidate_value = exact_fake_patterns.pattern

    {%- for rule in regex_rules %}

        union all

        select
            applies_to,
            candidate_value,
            {{ sql_string_literal(rule[0]) }} as rule_id
        from fake_values
        where
            applies_to = {{ sql_string_literal(rule[1]) }}
            and {{ regex_matches_ci('candidate_value', sql_string_literal(rule[2])) }}
    {%- endfor %}

),

fake_pattern_matches as (

    select
        fake_candidates.contact_id,
        fake_value_matches.rule_id,
        fake_candidates.field_label,
        fake_candidates.display_value
    from fake_candidates
    inner join fake_value_matches
        on
            fake_candidates.applies_to = fake_value_matches.applies_to
            and fake_candidates.candidate_value = fake_value_matches.candidate_value

),

fake_pattern_hits as (

    select
        contact_id,
        'test_or_fake' as flag,
        rule_id || ': ' || field_label || ' ' || chr(39) || display_value || chr(39) as detail
    from fake_pattern_matches

),

duplicate as (

    select
        contact_id,
        'duplicate' as flag,
        'duplicate_of ' || canonical_contact_id as detail
    from duplicates

),

all_flags as (

    select * from invalid_email
    union all
    select * from disposable_email
    union all
    select * from role_account
    union all
    select * from test_domain_hits
    union all
    select * from fake_pattern_hits
    union all
    select * from duplicate

),

distinct_flags as (

    select distinct
        contact_id,
        flag,
        detail
    from all_flags

),

-- one row per contact and flag: several rules of one flag share the row
final as (

    select
        contact_id,
        cast(flag as {{ dbt.type_string() }}) as flag,
        cast({{ dbt.listagg('detail', "'; '", 'order by detail') }} as {{ dbt.type_string() }}) as detail
    from distinct_flags
    group by contact_id, flag

)

select * from final
