-- The disposable-domain reference list, as the quality models read it. The
-- source belongs to the reference loader (orchestration/reference.py); this
-- view is the quality gate's one entry point to it.

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

)

select * from renamed
