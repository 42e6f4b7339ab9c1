with

source as (

    select * from {{ source('raw', 'marketing_activities') }}

),

typed as (

    select
        {{ typed_columns(source('raw', 'marketing_activities'), [
            ['activity_id', dbt.type_string()],
            ['contact_id', dbt.type_string()],
            ['activity_type', dbt.type_string()],
            ['channel', dbt.type_string()],
            ['url', dbt.type_string()],
            ['campaign_id', dbt.type_string()],
            ['product_line', dbt.type_string()],
            ['user_agent', dbt.type_string()],
            ['occurred_at', dbt.type_timestamp()],
            ['_load_id', dbt.type_bigint()],
        ]) }}
    from source

),

renamed as (

    select
        -- ids
        activity_id,
        contact_id,
        -- empty is null: loading stores an empty value as null, but rows an
        -- earlier version loaded from JSON lines or Parquet may hold ''
        nullif(campaign_id, '') as campaign_id,

        -- strings
        lower(trim(activity_type)) as activity_type,
        nullif(lower(trim(channel)), '') as channel,
        nullif(url, '') as url,
        nullif(lower(trim(product_line)), '') as product_line,
        nullif(user_agent, '') as user_agent,

        -- timestamps (UTC)
        occurred_at,

        -- lineage: the load (raw._load_log) that wrote the row
        _load_id

    from typed

)

select * from renamed
