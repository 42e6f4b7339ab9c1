{#- trim_whitespace(expression): the text without the white space around it,
    white space being Unicode's White_Space characters: spaces (including
    the no-break and the other Unicode spaces), tabs, line and paragraph
    breaks, carriage returns and form feeds. DuckDB's trim() removes the
    spaces only, so an email cell ending in a tab or a line break ("a@b.com
    <TAB>") did not match the same address for duplicates (SPEC section 4:
    "after trimming"). DuckDB trims the listed characters (one pass, however
    they are mixed); Spark's trim() takes only ASCII characters to remove, so
    there a regular expression (Java: \s is the ASCII white space, \p{Z} the
    Unicode spaces and separators, \x{85} the next-line character) does it. -#}
{% macro trim_whitespace(expression) -%}
    {{ return(adapter.dispatch('trim_whitespace', 'leadscore')(expression)) }}
{%- endmacro %}

{#- The code points of Unicode's White_Space property (Unicode 15). Python's
    orchestration.quality.WHITESPACE lists the same ones for the email checks,
    which must normalize addresses exactly as staging does. -#}
{% macro whitespace_code_points() -%}
    {{ return([
        9, 10, 11, 12, 13, 32, 133, 160, 5760,
        8192, 8193, 8194, 8195, 8196, 8197, 8198, 8199, 8200, 8201, 8202,
        8232, 8233, 8239, 8287, 12288
    ]) }}
{%- endmacro %}

{% macro duckdb__trim_whitespace(expression) -%}
    trim({{ expression }}, {% for code_point in whitespace_code_points() %}chr({{ code_point }}){% if not loop.last %} || {% endif %}{% endfor %})
{%- endmacro %}

{% macro default__trim_whitespace(expression) -%}
    regexp_replace({{ expression }}, '^[\\s\\p{Z}\\x{85}]+|[\\s\\p{Z}\\x{85}]+$', '')
{%- endmacro %}
