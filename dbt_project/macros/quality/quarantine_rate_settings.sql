{#- The quarantine-rate check's two settings
    (tests/quality/assert_quarantine_rate_below_threshold.sql), like the batch
    checks' thresholds: the dbt var when given (`--vars`), else the
    environment variable, else the default here (the only place it is
    written).

    - quarantine_max_rate(): largest share of D's contacts that may carry a
      quality flag, from 0 to 1; var quality_max_quarantine_rate,
      LEADSCORE_MAX_QUARANTINE_RATE, default 0.25.
    - quarantine_min_contacts(): fewer contacts than this and the rate is not
      judged, a whole number from 0; var quality_quarantine_min_contacts,
      LEADSCORE_QUARANTINE_MIN_CONTACTS, default 100.

    The environment is read when dbt executes, not when it parses (as
    score_date() does), so changing a variable re-parses nothing. `leadscore`
    checks both variables before a run starts (orchestration/quality.py,
    check_settings) with the same patterns; a value given to dbt run by hand
    is checked here, naming where it came from. -#}
{% macro quarantine_max_rate() -%}
    {{ return(quarantine_setting(
        'quality_max_quarantine_rate', 'LEADSCORE_MAX_QUARANTINE_RATE', '0.25',
        '^([0-9]+([.][0-9]*)?|[.][0-9]+)$', 'a number from 0 to 1', 1
    ) | float) }}
{%- endmacro %}

{% macro quarantine_min_contacts() -%}
    {{ return(quarantine_setting(
        'quality_quarantine_min_contacts', 'LEADSCORE_QUARANTINE_MIN_CONTACTS', '100',
        '^[0-9]+$', 'a whole number from 0', none
    ) | int) }}
{%- endmacro %}

{% macro quarantine_setting(var_name, env_name, default, pattern, expected, upper) -%}
    {%- set raw = var(var_name, '') | string | trim -%}
    {%- set source = 'var ' ~ var_name -%}
    {%- if raw == '' and execute -%}
        {%- set raw = env_var(env_name, '') | trim -%}
        {%- set source = env_name -%}
    {%- endif -%}
    {%- if raw == '' -%}
        {{ return(default) }}
    {%- endif -%}
    {%- if not modules.re.match(pattern, raw)
        or (upper is not none and (raw | float) > upper) -%}
        {{ exceptions.raise_compiler_error(
            source ~ "='" ~ raw ~ "': expected " ~ expected ~ " (the quarantine-rate check)"
        ) }}
    {%- endif -%}
    {{ return(raw) }}
{%- endmacro %}
