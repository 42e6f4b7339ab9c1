-- Operators with a numeric value have one: gte / lt a number, between two
-- numbers `lo|hi` with lo <= hi; in / not_in have at least one non-blank item;
-- equals, contains and regex have a value (blank, equals matches nothing and
-- contains / regex match every non-null value: is_not_null says that); a
-- regex compiles (on DuckDB; macro regex_is_valid).

with

rules as (

    select
        model_id,
        rule_id,
        operator,
        value
    from {{ ref('fit_rules') }}

),

list_rules as (

    select
        model_id,
        rule_id,
        operator,
        value
    from rules
    where operator in ('in', 'not_in', 'between')

),

items as (

    {{ explode_rule_values('list_rules', ['model_id', 'rule_id', 'operator'], 'value') }}

),

between_checks as (

    select
        model_id,
        rule_id,
        count(*) as item_count,
        max(case when value_position = 1 then try_cast(value_item as double) end) as lower_bound,
        max(case when value_position = 2 then try_cast(value_item as double) end) as upper_bound
    from items
    where operator = 'between'
    group by model_id, rule_id

),

list_checks as (

    select
        model_id,
        rule_id,
        sum(case when value_item != '' then 1 else 0 end) as non_blank_items
    from items
    where operator in ('in', 'not_in')
    group by model_id, rule_id

)

select
    model_id,
    rule_id,
    'gte / lt value is not a number' as problem
from rules
where
    operator in ('gte', 'lt')
    and try_cast(trim(value) as double) is null

union all

select
    model_id,
    rule_id,
    'between value is not lo|hi with numbers lo <= hi' as problem
from between_checks
where
    item_count != 2
    or lower_bound is null
    or upper_bound is null
    or lower_bound > upper_bound

union all

select
    model_id,
    rule_id,
    'in / not_in value lists nothing' as problem
from list_checks
where non_blank_items = 0

union all

select
    model_id,
    rule_id,
    'equals / contains / regex value is blank' as problem
from rules
where
    operator in ('equals', 'contains', 'regex')
    and (value is null or trim(value) = '')

union all

select
    model_id,
    rule_id,
    'regex value is not a valid regular expression' as problem
from rules
where
    operator = 'regex'
    and not {{ regex_is_valid('value') }}
