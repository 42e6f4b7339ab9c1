-- The disposable-domain reference list, as the quality models read it. The
-- source belongs to the reference loader (orchestration/reference.py); this
-- view is the quality gate's one entry point to it. The real webmail
-- providers the list also names (seed quality_webmail_providers) are left
-- out: free webmail is a fit signal, not a quarantine reason.

with

source as (

    select * from {{ source('reference', 'disposable_email_domains') }}

),

renamed as (

    select
        -- strings
        source_package,

        -- ids
        lower(trim(domain)) as disposable_domain

    from source

),

providers as (

    select lower(trim(domain)) as provider_domain
    from {{ ref('quality_webmail_providers') }}

)

select
    renamed.source_package,
    renamed.disposable_domain
from renamed
left join providers
    on renamed.disposable_domain = providers.provider_domain
where providers.provider_domain is null
