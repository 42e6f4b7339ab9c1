-- One row per contact x active model x fit rule that matches (SPEC section 4,
-- Fit). Rules are data: the long-form profile is joined to the rules on
-- `field` and each operator is evaluated as an expression over columns, so
-- a rule value is only compared, never rendered into SQL, with one
-- exception: the seed's regex patterns are also written into the SQL as
-- escaped string constants (read when the model runs, as the bot model does
-- with its scanner patterns), because DuckDB compiles a pattern taken from a
-- column once per row: 200k distinct email domains against one pattern took
-- 11 s. A pattern not among them (a unit test's rows) still matches from the
-- column. Rules are evaluated once per distinct (field, value), not once per
-- contact, then joined back.
-- A null field matches only is_null and not_in.
--
-- Build order, not data: this model waits for the inactivity points, which
-- wait for the engagement aggregate. The three are large hash aggregations
-- that each fill the one DuckDB memory budget of the build; side by side
-- they spill. At 3M contacts, fit and engagement side by side took 60-70 s
-- each; one after the other, 13 s and 40 s. Engagement and inactivity go
-- first: they are on the longest path to the scores, fit is not. (Left out
-- of unit tests, where `this` is none: they give the data inputs only.)
{%- if this is not none %}
-- depends_on: {{ ref('int_scoring__inactivity_rule_points') }}
{%- endif %}

{%- set regex_patterns = [] -%}
{%- if execute and this is not none -%}
    {%- set seed_relation = load_relation(ref('fit_rules')) -%}
    {#- Missing only outside a build (compile, lint); a build seeds it first. -#}
    {%- if seed_relation is not none -%}
        {%- set regex_patterns = run_query(
            "select distinct value from " ~ seed_relation
            ~ " where lower(trim(operator)) = 'regex' and value is not null order by value"
        ).columns[0].values() -%}
    {%- endif -%}
{%- endif -%}
{#- Each known pattern as a constant; any other from the column. -#}
{%- set regex_test = regex_matches_ci('text_value', 'value') -%}
{%- if regex_patterns -%}
    {%- set branches = [] -%}
    {%- for pattern in regex_patterns -%}
        {%- set literal = sql_string_literal(pattern) -%}
        {%- do branches.append('when ' ~ literal ~ ' then ' ~ regex_matches_ci('text_value', literal)) -%}
    {%- endfor -%}
    {%- set regex_test = 'case value ' ~ (branches | join(' ')) ~ ' else ' ~ regex_test ~ ' end' -%}
{%- endif %}

with

active_models as (

    select model_id
    from {{ ref('scoring_models') }}
    where is_active

),

rules as (

    select
        fit_rules.model_id,
        fit_rules.rule_id,
        fit_rules.field,
        fit_rules.value,
        fit_rules.points,
        lower(trim(fit_rules.operator)) as rule_operator,
        -- on a boolean field, yes/no/1/0 mean true/false (macro boolean_rule_text)
        case
            when fit_rules.field in {{ boolean_profile_fields_sql() }}
                then {{ boolean_rule_text('fit_rules.value') }}
            else lower(trim(fit_rules.value))
        end as value_text,
        try_cast(trim(fit_rules.value) as double) as value_numeric
    from {{ ref('fit_rules') }} as fit_rules
    inner join active_models
        on fit_rules.model_id = active_models.model_id

),

list_rules as (

    select
        model_id,
        rule_id,
        field,
        rule_operator,
        value
    from rules
    where rule_operator in ('in', 'not_in', 'between')

),

rule_items as (

    {{ explode_rule_values('list_rules', ['model_id', 'rule_id', 'field', 'rule_operator'], 'value') }}

),

-- distinct, so that a value listed twice cannot match twice
list_items as (

    select distinct
        model_id,
        rule_id,
        case
            when field in {{ boolean_profile_fields_sql() }}
                then {{ boolean_rule_text('value_item') }}
            else value_item
        end as value_item
    from rule_items
    where rule_operator in ('in', 'not_in')

),

between_bounds as (

    select
        model_id,
        rule_id,
        max(case when value_position = 1 then try_cast(value_item as double) end) as lower_bound,
        max(case when value_position = 2 then try_cast(value_item as double) end) as upper_bound
    from rule_items
    where rule_operator = 'between'
    group by model_id, rule_id

),

profile_fields as (

    select
        contact_id,
        field,
        text_value,
        numeric_value
    from {{ ref('int_scoring__contact_profile_fields') }}

),

field_values as (

    select
        field,
        text_value,
        min(numeric_value) as numeric_value
    from profile_fields
    where text_value is not null
    group by field, text_value

),

value_candidates as (

    select
        field_values.field,
        field_values.text_value,
        field_values.numeric_value,
        rules.model_id,
        rules.rule_id,
        rules.rule_operator,
        rules.value,
        rules.value_text,
        rules.value_numeric,
        list_items.value_item as listed_item,
        between_bounds.lower_bound,
        between_bounds.upper_bound
    from field_values
    inner join rules
        on field_values.field = rules.field
    left join list_items
        on
            rules.model_id = list_items.model_id
            and rules.rule_id = list_items.rule_id
            and field_values.text_value = list_items.value_item
    left join between_bounds
        on
            rules.model_id = between_bounds.model_id
            and rules.rule_id = between_bounds.rule_id

),

value_matches as (

    select
        field,
        text_value,
        model_id,
        rule_id
    from value_candidates
    where
        coalesce(
            case rule_operator
                when 'equals' then text_value = value_text or numeric_value = value_numeric
                when 'in' then listed_item is not null
                when 'not_in' then listed_item is null
                when 'contains' then {{ dbt.position('value_text', 'text_value') }} > 0
                when 'regex' then {{ regex_test }}
                when 'between' then numeric_value >= lower_bound and numeric_value <= upper_bound
                when 'gte' then numeric_value >= value_numeric
                when 'lt' then numeric_value < value_numeric
                when 'is_not_null' then true
                else false
            end,
            false
        )

),

contact_value_matches as (

    select
        profile_fields.contact_id,
        value_matches.model_id,
        value_matches.rule_id
    from profile_fields
    inner join value_matches
        on
            profile_fields.field = value_matches.field
            and profile_fields.text_value = value_matches.text_value

),

-- a null field matches is_null and not_in only
contact_null_matches as (

    select
        profile_fields.contact_id,
        rules.model_id,
        rules.rule_id
    from profile_fields
    inner join rules
        on profile_fields.field = rules.field
    where
        profile_fields.text_value is null
        and rules.rule_operator in ('is_null', 'not_in')

),

matches as (

    select
        contact_id,
        model_id,
        rule_id
    from contact_value_matches

    union all

    select
        contact_id,
        model_id,
        rule_id
    from contact_null_matches

)

select
    matches.contact_id,
    matches.model_id,
    matches.rule_id,
    rules.points
from matches
inner join rules
    on
        matches.model_id = rules.model_id
        and matches.rule_id = rules.rule_id
