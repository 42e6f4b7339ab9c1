{#- round_cents(expression): a score rounded to the cent as its decimal value
    reads, half away from zero, typed decimal(18, 2). Points are doubles, and a
    double holds 2.675 as 2.67499999999999982...: round(x, 2) on the double
    gave 2.67, so a fit rule worth 2.675 scored 2.67, fell short of a band or
    threshold at 2.675, and a component worth 1.005 showed 1.00 (SPEC section
    4: rounded to 2 decimals at the end). The value is first cast to 9
    decimals, which drops the binary representation's error (below a
    billionth for any score under a million) and keeps every decimal a
    rulebook writes, then rounded. DuckDB and Spark both round a double to a
    decimal and a decimal to fewer places half away from zero. -#}
{% macro round_cents(expression) -%}
    cast(round(cast({{ expression }} as decimal(38, 9)), 2) as decimal(18, 2))
{%- endmacro %}
