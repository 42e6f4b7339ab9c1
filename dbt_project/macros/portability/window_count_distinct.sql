{#- count(distinct expression) over (window): the number of distinct values in
    a window frame. Spark has no distinct window aggregates: the size of the
    window's set of values does the same (the window goes inside size()). -#}
{% macro window_count_distinct(expression, window) -%}
    {{ return(adapter.dispatch('window_count_distinct', 'leadscore')(expression, window)) }}
{%- endmacro %}

{% macro duckdb__window_count_distinct(expression, window) -%}
    count(distinct {{ expression }}) over ({{ window }})
{%- endmacro %}

{% macro spark__window_count_distinct(expression, window) -%}
    size(collect_set({{ expression }}) over ({{ window }}))
{%- endmacro %}

{% macro default__window_count_distinct(expression, window) -%}
    count(distinct {{ expression }}) over ({{ window }})
{%- endmacro %}
