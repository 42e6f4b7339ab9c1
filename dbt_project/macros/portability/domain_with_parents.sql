{#- One row per (id, domain, parent_domain) of `relation`: the domain itself
    and each parent domain of two labels or more (a.b.c gives a.b.c and
    b.c). -#}
{% macro domain_with_parents(relation, id_column, domain_column) -%}
    {{ return(adapter.dispatch('domain_with_parents', 'leadscore')(relation, id_column, domain_column)) }}
{%- endmacro %}

{% macro duckdb__domain_with_parents(relation, id_column, domain_column) -%}
    select
        {{ relation }}.{{ id_column }},
        {{ relation }}.{{ domain_column }},
        array_to_string(
            list_slice(string_split({{ relation }}.{{ domain_column }}, '.'), label_positions.label_position, -1), '.'
        ) as parent_domain
    from {{ relation }}
    inner join range(1, 128) as label_positions (label_position)
        on label_positions.label_position < len(string_split({{ relation }}.{{ domain_column }}, '.'))
{%- endmacro %}

{% macro spark__domain_with_parents(relation, id_column, domain_column) -%}
    select
        labelled.{{ id_column }},
        labelled.{{ domain_column }},
        array_join(
            slice(labelled.labels, label_positions.label_index + 1, size(labelled.labels) - label_positions.label_index),
            '.'
        ) as parent_domain
    from (
        select
            {{ id_column }},
            {{ domain_column }},
            split({{ domain_column }}, '[.]') as labels
        from {{ relation }}
    ) as labelled
    lateral view posexplode(labelled.labels) label_positions as label_index, label_value
    where label_positions.label_index + 1 < size(labelled.labels)
{%- endmacro %}

{% macro default__domain_with_parents(relation, id_column, domain_column) -%}
    {{ exceptions.raise_compiler_error("domain_with_parents has no implementation for adapter " ~ adapter.type()) }}
{%- endmacro %}
