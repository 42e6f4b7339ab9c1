-- Every fit rule tests a field the contact profile has (macro
-- scoring_profile_fields); a misspelt field would otherwise silently never
-- match (or always match is_null / not_in).
{%- set fields = scoring_profile_fields() %}

select
    model_id,
    rule_id,
    field
from {{ ref('fit_rules') }}
where
    field is null
    or field not in (
        {%- for field in fields %}
            '{{ field.name }}'{{ ',' if not loop.last }}
        {%- endfor %}
    )
