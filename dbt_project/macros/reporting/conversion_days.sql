{#- The conversion window around each score date D, in days (dbt vars
    conversion_lookback_days and conversion_window_days, default 90 each): an
    opportunity counts when it was created between D - lookback and
    D + window (calendar dates, inclusive). Returns the validated number as
    text, for the models that compute or report the window. -#}
{% macro conversion_days(name) -%}
    {%- set value = var(name, 90) | string | trim -%}
    {%- if not value.isdigit() -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ name ~ " must be a whole number of days (0 or more), got '" ~ value ~ "'"
        ) }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}
