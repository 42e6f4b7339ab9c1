{#- Fails on every combination of the given columns that occurs more than once. -#}
{% test unique_per(model, combination_of_columns) %}
{{ leadscore.unique_per_sql(model, combination_of_columns) }}
{% endtest %}
