{#- Seconds since 1970-01-01 00:00 UTC of a timestamp, as a double with the
    fraction (bot heuristics compare clicks seconds apart). -#}
{% macro epoch_seconds(expression) -%}
    {{ return(adapter.dispatch('epoch_seconds', 'leadscore')(expression)) }}
{%- endmacro %}

{% macro duckdb__epoch_seconds(expression) -%}
    epoch({{ expression }})
{%- endmacro %}

{% macro spark__epoch_seconds(expression) -%}
    (cast(unix_micros({{ expression }}) as double) / 1000000.0)
{%- endmacro %}

{% macro default__epoch_seconds(expression) -%}
    {{ exceptions.raise_compiler_error("epoch_seconds has no implementation for adapter " ~ adapter.type()) }}
{%- endmacro %}
