-- An inactivity rule's channel is `any` or the channel of an engagement rule
-- of the same model (trimmed, case-insensitive, as scoring compares them).
-- Another channel never sees activity, so the rule counts every contact's
-- inactivity from its created_at (SPEC section 4): usually a misspelt
-- channel. Severity warn, not error: channels are the rulebook's own names,
-- and such a rule is well defined.

{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'inactivity_rules'}}}) }}

with

inactivity_rules as (

    select
        model_id,
        rule_id,
        channel,
        lower(trim(channel)) as compared_channel
    from {{ ref('inactivity_rules') }}

),

scored_channels as (

    select distinct
        model_id,
        lower(trim(channel)) as compared_channel
    from {{ ref('engagement_rules') }}

)

select
    inactivity_rules.model_id,
    inactivity_rules.rule_id,
    inactivity_rules.channel
from inactivity_rules
left join scored_channels
    on
        inactivity_rules.model_id = scored_channels.model_id
        and inactivity_rules.compared_channel = scored_channels.compared_channel
where
    scored_channels.compared_channel is null
    and inactivity_rules.compared_channel != 'any'
