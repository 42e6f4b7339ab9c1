{#- sum_of_largest(expression, n): an aggregate, the sum of the n largest
    values of a numeric expression in the group (all of them when the group
    has fewer; null values are skipped; null for a group of none). DuckDB
    keeps the n largest values of each group in its hash aggregation
    (max(expression, n)), where a ranking window sorts every row of every
    group: for an account roll-up of 1.7M contacts into 324k accounts, ~1 s
    against ~3 s. Spark sorts each group's values, keeps the first n and adds
    them up. -#}
{% macro sum_of_largest(expression, n) -%}
    {{ return(adapter.dispatch('sum_of_largest', 'leadscore')(expression, n)) }}
{%- endmacro %}

{% macro duckdb__sum_of_largest(expression, n) -%}
    list_sum(max({{ expression }}, {{ n }}))
{%- endmacro %}

{% macro default__sum_of_largest(expression, n) -%}
    aggregate(
        slice(sort_array(collect_list({{ expression }}), false), 1, {{ n }}),
        cast(null as decimal(38, 6)),
        (total, value) -> cast(coalesce(total, 0) + value as decimal(38, 6))
    )
{%- endmacro %}
