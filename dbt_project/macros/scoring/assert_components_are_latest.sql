{#- A backfill keeps lead_score_components as it is, which is right only when
    it holds the components of lead_scores, the latest date in
    lead_score_history. It does not when a run at a later date stopped after
    writing the components and before history (a failed test or model, a
    killed process): the backfill would then publish scores and components of
    two dates. Stop the backfill before it writes anything and say which date
    to score again. `relation` is the existing lead_score_components. -#}
{% macro assert_components_are_latest(relation) -%}
    {%- set latest = latest_history_score_date() -%}
    {%- set dates = run_query(
        "select cast(min(score_date) as " ~ dbt.type_string() ~ "), cast(max(score_date) as "
        ~ dbt.type_string() ~ ") from " ~ relation
    ).rows[0] -%}
    {%- set first, last = dates[0], dates[1] -%}
    {%- if latest is not none and first is not none and (first != latest or last != latest) -%}
        {%- set held = first if first == last else first ~ " to " ~ last -%}
        {{ exceptions.raise_compiler_error(
            "lead_score_components holds the components of " ~ held ~ ", but the latest date in"
            ~ " lead_score_history, which lead_scores shows, is " ~ latest ~ ": a run stopped between writing"
            ~ " the two. A backfill of " ~ score_date_text() ~ " keeps the components as they are,"
            ~ " so it would publish scores and components of different dates. Score " ~ latest
            ~ " again first (leadscore run --date " ~ latest ~ "), then backfill."
            ~ " lead_score_history was not changed."
        ) }}
    {%- endif -%}
{%- endmacro %}
