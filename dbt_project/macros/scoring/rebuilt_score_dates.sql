{#- The score dates an incremental run rebuilds in the marts derived from
    lead_score_history by comparing a date with the model's previous scored
    date (mql_handoffs, account_scores, the score deciles): the run's score
    date D and, for each model, the next date history holds after D. That
    next date compared itself with whatever preceded D when it was built; once
    D is (re)scored, D is its predecessor, so a backfill after go-live or a
    rescored past date would otherwise leave it with stale hand-offs and score
    changes. The whole date is rebuilt (every model), so the marts can keep
    replacing whole dates (delete+insert on DuckDB, partitions on Spark).
    In the daily run D is the latest date and this is D alone.

    `history` is the lead_score_history relation. Renders a select of one
    column, score_date. -#}
{% macro rebuilt_score_dates(history) -%}
    select {{ score_date() }} as score_date

    union

    select min(later_dates.score_date) as score_date
    from {{ history }} as later_dates
    where later_dates.score_date > {{ score_date() }}
    group by later_dates.model_id
{%- endmacro %}
