{#- `name as {{ cte_inlined() }} (select ...)`: a common table expression the
    engine should inline into each reader instead of materialising once. For
    a CTE over every activity that several readers filter differently, each
    reader's filter and column choice then reach the table scan (DuckDB would
    otherwise write all 30M rows to a temporary buffer first). -#}
{% macro cte_inlined() -%}
    {{ return(adapter.dispatch('cte_inlined', 'leadscore')()) }}
{%- endmacro %}

{% macro duckdb__cte_inlined() -%}
    not materialized
{%- endmacro %}

{#- Engines without the hint (Spark) inline CTEs by default. -#}
{% macro default__cte_inlined() -%}
{%- endmacro %}

{#- `name as {{ cte_materialized() }} (select ...)`: a common table expression
    the engine should compute once for its readers. For a small slice of a big
    table that several readers join, writing the slice once beats scanning the
    table once per reader. -#}
{% macro cte_materialized() -%}
    {{ return(adapter.dispatch('cte_materialized', 'leadscore')()) }}
{%- endmacro %}

{% macro duckdb__cte_materialized() -%}
    materialized
{%- endmacro %}

{#- Spark has no hint: it inlines the CTE, and may reuse the shared scan. -#}
{% macro default__cte_materialized() -%}
{%- endmacro %}
