{#- Microseconds since 1970-01-01 00:00 UTC of a timestamp, as a bigint: an
    exact window key (the click-burst window is a range frame over it). -#}
{% macro epoch_micros(expression) -%}
    {{ return(adapter.dispatch('epoch_micros', 'leadscore')(expression)) }}
{%- endmacro %}

{% macro duckdb__epoch_micros(expression) -%}
    epoch_us({{ expression }})
{%- endmacro %}

{% macro spark__epoch_micros(expression) -%}
    unix_micros({{ expression }})
{%- endmacro %}

{% macro default__epoch_micros(expression) -%}
    {{ exceptions.raise_compiler_error("epoch_micros has no implementation for adapter " ~ adapter.type()) }}
{%- endmacro %}
