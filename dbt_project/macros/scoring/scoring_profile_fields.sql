{#- The fields a fit rule can test (seeds/fit_rules.csv, column `field`), each
    with how it is compared: `text` (case-insensitive text operators),
    `numeric` (also `between`, `gte`, `lt`), `boolean` (compared as the text
    'true' / 'false') and `timestamp` (compared as ISO text).
    int_scoring__contact_profile must have a column for each name here;
    int_scoring__contact_profile_fields unpivots them, and the rulebook test
    assert_fit_rule_fields_are_known rejects a rule on any other field. -#}
{% macro scoring_profile_fields() -%}
    {{ return([
        {'name': 'contact_id', 'kind': 'text'},
        {'name': 'account_id', 'kind': 'text'},
        {'name': 'email', 'kind': 'text'},
        {'name': 'email_domain', 'kind': 'text'},
        {'name': 'is_free_email', 'kind': 'boolean'},
        {'name': 'first_name', 'kind': 'text'},
        {'name': 'last_name', 'kind': 'text'},
        {'name': 'job_title', 'kind': 'text'},
        {'name': 'seniority', 'kind': 'text'},
        {'name': 'phone', 'kind': 'text'},
        {'name': 'country', 'kind': 'text'},
        {'name': 'lead_source', 'kind': 'text'},
        {'name': 'email_opt_out', 'kind': 'boolean'},
        {'name': 'created_at', 'kind': 'timestamp'},
        {'name': 'updated_at', 'kind': 'timestamp'},
        {'name': 'account_name', 'kind': 'text'},
        {'name': 'domain', 'kind': 'text'},
        {'name': 'industry', 'kind': 'text'},
        {'name': 'employee_count', 'kind': 'numeric'},
        {'name': 'annual_revenue', 'kind': 'numeric'},
        {'name': 'segment', 'kind': 'text'},
        {'name': 'won_opportunities', 'kind': 'numeric'},
        {'name': 'won_amount', 'kind': 'numeric'},
    ]) }}
{%- endmacro %}
