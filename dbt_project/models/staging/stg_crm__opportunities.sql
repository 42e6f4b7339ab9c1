with

source as (

    select * from {{ source('raw', 'crm_opportunities') }}

),

typed as (

    select
        {{ typed_columns(source('raw', 'crm_opportunities'), [
            ['opportunity_id', dbt.type_string()],
            ['account_id', dbt.type_string()],
            ['contact_id', dbt.type_string()],
            ['product_line', dbt.type_string()],
            ['stage', dbt.type_string()],
            ['amount', 'double'],
            ['is_won', dbt.type_boolean()],
            ['created_at', dbt.type_timestamp()],
            ['closed_at', dbt.type_timestamp()],
        ]) }}
    from source

),

renamed as (

    select
        -- ids
        opportunity_id,
        account_id,
        contact_id,

        -- strings
        nullif(lower(trim(product_line)), '') as product_line,
        lower(trim(stage)) as stage,  -- noqa: RF04

        -- numerics
        amount,

        -- booleans
        coalesce(is_won, false) as is_won,

        -- timestamps
        created_at,
        closed_at

    from typed

)

select * from renamed
