with

source as (

    select * from {{ source('raw', 'crm_contacts') }}

),

typed as (

    select
        {{ typed_columns(source('raw', 'crm_contacts'), [
            ['contact_id', dbt.type_string()],
            ['account_id', dbt.type_string()],
            ['email', dbt.type_string()],
            ['first_name', dbt.type_string()],
            ['last_name', dbt.type_string()],
            ['job_title', dbt.type_string()],
            ['phone', dbt.type_string()],
            ['country', dbt.type_string()],
            ['lead_source', dbt.type_string()],
            ['email_opt_out', dbt.type_boolean()],
            ['created_at', dbt.type_timestamp()],
            ['updated_at', dbt.type_timestamp()],
        ]) }}
    from source

),

renamed as (

    select
        -- ids
        contact_id,
        account_id,

        -- strings
        email,
        -- the duplicate key: trimmed of white space (tabs and line breaks too) and
        -- lower-cased, null when empty (the email checks normalize it the same way)
        nullif(lower({{ trim_whitespace('email') }}), '') as email_normalized,
        trim(first_name) as first_name,
        trim(last_name) as last_name,
        trim(job_title) as job_title,
        trim(phone) as phone,
        upper(trim(country)) as country,
        lower(trim(lead_source)) as lead_source,

        -- booleans
        -- null when not delivered: a fit rule on a null field matches only is_null / not_in
        email_opt_out as is_email_opt_out,

        -- timestamps
        created_at,
        updated_at

    from typed

)

select * from renamed
