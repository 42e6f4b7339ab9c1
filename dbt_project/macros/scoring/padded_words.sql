{#- A text as its lower-cased words separated by single spaces, with a space
    on each side (' vp of data '), so that a keyword ' vp ' matches whole
    words only ('cto' does not match 'director'). -#}
{% macro padded_words(expression) -%}
    {{ return(adapter.dispatch('padded_words', 'leadscore')(expression)) }}
{%- endmacro %}

{% macro duckdb__padded_words(expression) -%}
    (' ' || trim(regexp_replace(lower({{ expression }}), '[^a-z0-9]+', ' ', 'g')) || ' ')
{%- endmacro %}

{% macro spark__padded_words(expression) -%}
    concat(' ', trim(regexp_replace(lower({{ expression }}), '[^a-z0-9]+', ' ')), ' ')
{%- endmacro %}

{% macro default__padded_words(expression) -%}
    {{ exceptions.raise_compiler_error("padded_words has no implementation for adapter " ~ adapter.type()) }}
{%- endmacro %}
