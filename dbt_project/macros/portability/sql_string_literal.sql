{#- A SQL string literal holding `value` (seed data written into SQL as a
    constant, e.g. a regular expression). Engines escape differently: DuckDB
    doubles a quote; Spark escapes quotes and backslashes with a backslash
    (a doubled quote there joins two literals, and '\b' would be a
    backspace). -#}
{% macro sql_string_literal(value) -%}
    {{ return(adapter.dispatch('sql_string_literal', 'leadscore')(value)) }}
{%- endmacro %}

{% macro default__sql_string_literal(value) -%}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}

{% macro spark__sql_string_literal(value) -%}
    '{{ (value | string).replace("\\", "\\\\").replace("'", "\\'") }}'
{%- endmacro %}
