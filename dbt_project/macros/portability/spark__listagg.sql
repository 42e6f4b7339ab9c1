{#- dbt-spark's listagg ignores order_by_clause (with a warning). The project
    only ever orders by the aggregated value itself, ascending, which a sorted
    array gives; any other ordering is refused rather than ignored. -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if order_by_clause and order_by_clause | trim | lower != 'order by ' ~ (measure | trim | lower) -%}
        {{ exceptions.raise_compiler_error("spark__listagg only supports 'order by <measure>', got " ~ order_by_clause) }}
    {%- endif -%}
    {%- set collected = 'array_sort(collect_list(' ~ measure ~ '))' if order_by_clause else 'collect_list(' ~ measure ~ ')' -%}
    {%- if limit_num %}{% set collected = 'slice(' ~ collected ~ ', 1, ' ~ limit_num ~ ')' %}{% endif -%}
    array_join({{ collected }}, {{ delimiter_text }})
{%- endmacro %}
