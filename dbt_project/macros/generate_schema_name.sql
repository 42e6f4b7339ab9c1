{#- Use the configured schema name as-is (staging, intermediate, marts,
    rulebook) instead of dbt's default "<target>_<custom>" so that BI, GX
    checks and tests can name relations without knowing the target. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
