{#- The table is written by the Dagster asset quality/email_checks before dbt
    runs. When a run or build finds it missing, say what to run instead of
    failing on "table does not exist" (compile and lint need no table). -#}
{%- if execute and flags.WHICH in ('run', 'build') -%}
    {%- set relation = adapter.get_relation(
        database=target.database, schema='quality', identifier='email_checks'
    ) -%}
    {%- if relation is none -%}
        {{ exceptions.raise_compiler_error(
            "quality.email_checks does not exist in the warehouse: materialize the Dagster "
            ~ "asset quality/email_checks (or call orchestration.quality.check_emails(settings)) "
            ~ "after loading the landing files and before dbt build."
        ) }}
    {%- endif -%}
{%- endif -%}

with

source as (

    select * from {{ source('quality', 'email_checks') }}

),

renamed as (

    select
        -- ids
        email_normalized,

        -- strings
        invalid_reason,
        email_domain,
        registrable_domain,
        validator_version,

        -- booleans
        is_valid_syntax,

        -- timestamps
        checked_at

    from source

)

select * from renamed
