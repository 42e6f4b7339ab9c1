{#- Explode a `|`-separated rulebook value (operators `in`, `not_in`,
    `between`) into one row per item: renders a complete select of
    `key_columns`, `value_item` (trimmed, lower-cased) and `value_position`
    (1-based) from `relation` (a ref or a CTE name). The values stay data:
    nothing from a seed is ever rendered into SQL text. -#}
{% macro explode_rule_values(relation, key_columns, value_column, delimiter='|') -%}
    {{ return(adapter.dispatch('explode_rule_values', 'leadscore')(relation, key_columns, value_column, delimiter)) }}
{%- endmacro %}

{% macro duckdb__explode_rule_values(relation, key_columns, value_column, delimiter) -%}
    select
        {%- for column in key_columns %}
        exploded.{{ column }},
        {%- endfor %}
        lower(trim(exploded.value_item)) as value_item,
        exploded.value_position
    from (
        select
            {%- for column in key_columns %}
            {{ column }},
            {%- endfor %}
            unnest(string_split({{ value_column }}, '{{ delimiter }}')) as value_item,
            generate_subscripts(string_split({{ value_column }}, '{{ delimiter }}'), 1) as value_position
        from {{ relation }}
    ) as exploded
{%- endmacro %}

{% macro spark__explode_rule_values(relation, key_columns, value_column, delimiter) -%}
    {#- Spark's split() takes a regex: a one-character class matches the delimiter literally. -#}
    select
        {%- for column in key_columns %}
        source_rows.{{ column }},
        {%- endfor %}
        lower(trim(items.value_item)) as value_item,
        items.value_position + 1 as value_position
    from {{ relation }} as source_rows
    lateral view posexplode(split(source_rows.{{ value_column }}, '[{{ delimiter }}]')) items as value_position, value_item
{%- endmacro %}

{% macro default__explode_rule_values(relation, key_columns, value_column, delimiter) -%}
    {{ exceptions.raise_compiler_error("explode_rule_values has no implementation for adapter " ~ adapter.type()) }}
{%- endmacro %}
