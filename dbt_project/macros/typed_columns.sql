{#- Select the given columns from a relation, casting each to its type and
    filling any column the landed export did not have with a typed null, so an
    export without e.g. `phone` still builds (schema-drift resilience, as in
    the Fivetran CRM packages). `columns` is a list of [name, type] pairs. -#}
{% macro typed_columns(relation, columns) -%}
    {%- set existing = [] -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- do existing.append(column.name | lower) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- for name, data_type in columns %}
        {% if name in existing or not execute -%}
            cast({{ adapter.quote(name) }} as {{ data_type }}) as {{ name }}
        {%- else -%}
            cast(null as {{ data_type }}) as {{ name }}
        {%- endif -%}
        {{- "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}
