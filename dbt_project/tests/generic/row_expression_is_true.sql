{#- Fails on every row for which the SQL expression (over the row's columns)
    is false or null (at column level the column is only the test's name). -#}
{% test row_expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not coalesce({{ expression }}, false)

{% endtest %}
