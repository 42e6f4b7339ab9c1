-- The contact profile in long form, one row per contact x field, for the
-- fields that at least one active fit rule tests. Text values are trimmed and
-- lower-cased once here (every text operator is case-insensitive); numeric
-- fields also carry their value as a double for between / gte / lt, and read
-- as text without a decimal point when whole (`in 50|100` works on doubles).
-- A null field still gets its row (text_value null) so that is_null and
-- not_in can match it. Unpivoted with a portable `union all` over the field
-- list of macro scoring_profile_fields(). Each branch reads the profile table
-- itself: DuckDB materializes a CTE referenced more than once, and a
-- `profile` CTE read by every branch wrote all 10M profiles (every column) to
-- a temporary table and spilled 69 GB (fit rules 104 s at 10M contacts,
-- 35 s this way).

{%- set fields = scoring_profile_fields() %}

with

rule_fields as (

    select distinct fit_rules.field
    from {{ ref('fit_rules') }} as fit_rules
    inner join {{ ref('scoring_models') }} as scoring_models
        on fit_rules.model_id = scoring_models.model_id
    where scoring_models.is_active

),

unpivoted as (

    {% for field in fields -%}
        select
            profile.contact_id,
            '{{ field.name }}' as field,
            {% if field.kind == 'numeric' -%}
                -- whole numbers read without a decimal point: 25000000, not 25000000.0
                case
                    when
                        profile.{{ field.name }} = floor(profile.{{ field.name }})
                        and abs(profile.{{ field.name }}) < 1e15
                        then cast(cast(profile.{{ field.name }} as {{ dbt.type_bigint() }}) as {{ dbt.type_string() }})
                    else cast(profile.{{ field.name }} as {{ dbt.type_string() }})
                end as text_value,
                cast(profile.{{ field.name }} as double) as numeric_value
            {%- else -%}
                nullif(lower(trim(cast(profile.{{ field.name }} as {{ dbt.type_string() }}))), '') as text_value,
                cast(null as double) as numeric_value
            {%- endif %}
        from {{ ref('int_scoring__contact_profile') }} as profile
        where '{{ field.name }}' in (select rule_fields.field from rule_fields)
        {% if not loop.last %}
            union all
        {% endif %}
    {%- endfor %}

)

select
    contact_id,
    field,
    text_value,
    numeric_value
from unpivoted
