{#- A backfill keeps lead_score_components as it is, which is right only when
    it is the breakdown of lead_scores: per contact and model its points sum
    to the score of the latest date in lead_score_history (the test
    assert_components_sum_to_score). It is not when a run stopped between
    writing the components and history (a failed test or model, a killed
    process), whatever date it scored, or when only part of the project was
    built. The backfill would then write its history and publish scores and
    components that disagree. Stop it in this model, before lead_score_history
    and the marts read from it are written (the models upstream of this one
    are rebuilt for the backfilled date as usual), and say which date to
    score again. `relation` is the existing lead_score_components. -#}
{% macro assert_components_are_latest(relation) -%}
    {%- set history = previous_lead_score_history() -%}
    {%- set latest = latest_history_score_date() -%}
    {%- if history is none or latest is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- set text = dbt.type_string() -%}
    {#- The example is a pair whose sums differ, if there is one. -#}
    {%- set mismatch = run_query(
        "select count(*) over () as mismatched, contact_id, model_id,"
        ~ " cast(score as " ~ text ~ ") as score_text,"
        ~ " cast(coalesce(total_points, 0) as " ~ text ~ ") as points_text"
        ~ " from (" ~ components_not_summing_to_scores(
            history, relation, "score_date = cast('" ~ latest ~ "' as date)"
        ) ~ ") as mismatches"
        ~ " order by case when score = coalesce(total_points, 0) then 1 else 0 end,"
        ~ " contact_id, model_id limit 1"
    ).rows -%}
    {%- if mismatch | length == 0 -%}
        {{ return('') }}
    {%- endif -%}
    {%- set row = mismatch[0] -%}
    {%- set dates = run_query(
        "select cast(min(score_date) as " ~ text ~ "), cast(max(score_date) as " ~ text
        ~ ") from " ~ relation
    ).rows[0] -%}
    {%- set held = '' -%}
    {%- if dates[0] is not none and (dates[0] != latest or dates[1] != latest) -%}
        {%- set held = "; the components are of " ~ (dates[0] if dates[0] == dates[1] else dates[0] ~ " to " ~ dates[1]) -%}
    {%- endif -%}
    {%- set also = " or " ~ dates[1] ~ ", the date of the run that stopped" if dates[1] is not none and dates[1] > latest else "" -%}
    {{ exceptions.raise_compiler_error(
        "lead_score_components does not match " ~ latest ~ ", the latest date in lead_score_history,"
        ~ " which lead_scores shows: " ~ row[0] ~ " contact x model pair(s) differ, e.g. contact "
        ~ row[1] ~ ", model " ~ row[2] ~ ": score " ~ (row[3] if row[3] is not none else "none")
        ~ ", components " ~ row[4] ~ held ~ ". A run stopped after writing the components, or"
        ~ " only part of the project was built. A backfill of " ~ score_date_text()
        ~ " keeps the components as they are, so it would publish scores and components that"
        ~ " disagree. Score " ~ latest ~ " again first (leadscore run --date " ~ latest ~ also
        ~ "), then backfill. lead_score_history was not changed."
    ) }}
{%- endmacro %}
