with

source as (

    select * from {{ source('raw', 'crm_accounts') }}

),

typed as (

    select
        {{ typed_columns(source('raw', 'crm_accounts'), [
            ['account_id', dbt.type_string()],
            ['account_name', dbt.type_string()],
            ['domain', dbt.type_string()],
            ['industry', dbt.type_string()],
            ['country', dbt.type_string()],
            ['employee_count', dbt.type_bigint()],
            ['annual_revenue', 'double'],
            ['created_at', dbt.type_timestamp()],
            ['updated_at', dbt.type_timestamp()],
        ]) }}
    from source

),

renamed as (

    select
        -- ids
        account_id,

        -- strings
        trim(account_name) as account_name,
        lower(trim(domain)) as domain,  -- noqa: RF04
        lower(trim(industry)) as industry,
        upper(trim(country)) as country,

        -- numerics
        employee_count,
        annual_revenue,

        -- timestamps
        created_at,
        updated_at

    from typed

)

select * from renamed
