{#- A fit rule's value on a boolean field (is_free_email, email_opt_out), as the
    profile writes the field: 'true' / 'false'. The words a landing file may use
    for a boolean (SPEC section 2: true/false/1/0/yes/no, any case) mean the
    same in the rulebook, so `email_opt_out equals yes` matches opted-out
    contacts. Any other value is compared as written (lower-cased, trimmed),
    and matches no boolean field. -#}
{% macro boolean_rule_text(expression) -%}
    case lower(trim({{ expression }}))
        when 'yes' then 'true'
        when '1' then 'true'
        when 'no' then 'false'
        when '0' then 'false'
        else lower(trim({{ expression }}))
    end
{%- endmacro %}

{#- The names of the profile fields of kind boolean, as a SQL list: ('a', 'b'). -#}
{% macro boolean_profile_fields_sql() -%}
    {%- set names = [] -%}
    {%- for field in scoring_profile_fields() if field.kind == 'boolean' -%}
        {%- do names.append("'" ~ field.name ~ "'") -%}
    {%- endfor -%}
    ({{ names | join(', ') }})
{%- endmacro %}
