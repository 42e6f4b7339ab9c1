-- Fit rules on `country` (equals, in, not_in) name ISO 3166-1 alpha-2 codes,
-- the form SPEC section 2 gives the landing files' country: `UK` or `Germany`
-- in a rule matches no contact whose country is GB or DE. Severity warn, not
-- error: a rule may list a known wrong spelling on purpose (`GB|UK`) to catch
-- dirty CRM data, which the batch check country_is_iso_3166_1_alpha_2 warns
-- about in turn. Compared trimmed and case-insensitively, as scoring compares
-- them; the codes are reference.iso_3166_1_countries (package pycountry).
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'fit_rules'}}}) }}

with

country_rules as (

    select
        model_id,
        rule_id,
        operator,
        value
    from {{ ref('fit_rules') }}
    where
        field = 'country'
        and operator in ('equals', 'in', 'not_in')

),

list_items as (

    {{ explode_rule_values('country_rules', ['model_id', 'rule_id', 'operator'], 'value') }}

),

compared_codes as (

    select
        model_id,
        rule_id,
        value_item
    from list_items
    where operator in ('in', 'not_in')

    union all

    select
        model_id,
        rule_id,
        lower(trim(value)) as value_item
    from country_rules
    where operator = 'equals'

),

countries as (

    select lower(alpha_2) as country_code
    from {{ source('reference', 'iso_3166_1_countries') }}

)

select
    compared_codes.model_id,
    compared_codes.rule_id,
    upper(compared_codes.value_item) as unknown_country
from compared_codes
left join countries
    on compared_codes.value_item = countries.country_code
where
    compared_codes.value_item != ''
    and countries.country_code is null
