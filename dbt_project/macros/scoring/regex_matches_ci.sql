{#- True when `string_expression` matches the regular expression held in
    `pattern_expression` (a column, so the pattern stays data), ignoring case. -#}
{% macro regex_matches_ci(string_expression, pattern_expression) -%}
    {{ return(adapter.dispatch('regex_matches_ci', 'leadscore')(string_expression, pattern_expression)) }}
{%- endmacro %}

{% macro duckdb__regex_matches_ci(string_expression, pattern_expression) -%}
    regexp_matches({{ string_expression }}, {{ pattern_expression }}, 'i')
{%- endmacro %}

{% macro spark__regex_matches_ci(string_expression, pattern_expression) -%}
    ({{ string_expression }} rlike concat('(?i)', {{ pattern_expression }}))
{%- endmacro %}

{% macro default__regex_matches_ci(string_expression, pattern_expression) -%}
    {{ exceptions.raise_compiler_error("regex_matches_ci has no implementation for adapter " ~ adapter.type()) }}
{%- endmacro %}

{#- True when the pattern compiles (the rulebook test on fit_rules' regex
    values), so a bad pattern is named by its seed row instead of failing the
    scoring model with the engine's error. -#}
{% macro regex_is_valid(pattern_expression) -%}
    {{ return(adapter.dispatch('regex_is_valid', 'leadscore')(pattern_expression)) }}
{%- endmacro %}

{% macro duckdb__regex_is_valid(pattern_expression) -%}
    (try(regexp_matches('', {{ pattern_expression }}, 'i')) is not null)
{%- endmacro %}

{#- Spark has no try(): its patterns are Java's, checked by the scoring model's run. -#}
{% macro default__regex_is_valid(pattern_expression) -%}
    true
{%- endmacro %}
