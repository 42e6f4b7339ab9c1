-- The three largest positive components of each score as one readable
-- string, largest first (ties by component_id), e.g.
-- `demo_request +60.00; pricing_page_view +48.51; seniority_vp +20.00`.
-- A score with no positive component has no row (top_reasons is null).
-- One ranking window that also looks ahead to the next two components, kept
-- for each score's first row only. No ordered aggregate (string_agg ...
-- order by): its per-group state does not spill, and at 10M contacts it ran
-- out of a 2.5 GB budget; this form runs in a tenth of that.
-- The tie-break (component_id, then component_type) is sorted as one integer,
-- the rank of the pair among the few distinct pairs, rather than as two
-- strings on every row: at 3M contacts (36.7M positive components)
-- lead_score_history alone took 22.6-25.3 s against 29.7-35.6 s (three pairs,
-- alternating), with the same rows.
-- The components are read from lead_score_components, written just before
-- for the score date; a backfill of an older date, whose components that
-- mart does not keep, computes them from the view int_scoring__score_components,
-- once (a CTE computed for both readers: the view would be computed for each).

-- depends_on: {{ ref('int_scoring__score_components') }}
{%- set backfill = score_date_is_backfill() %}
{%- if backfill %}
    {%- set components = 'backfill_components' %}
    {%- set of_score_date = '' %}
{%- else %}
    {%- set components = ref('lead_score_components') %}
    {%- set of_score_date = 'and score_date = ' ~ score_date() %}
{%- endif %}

with
{%- if backfill %}

backfill_components as {{ cte_materialized() }} (

    select
        contact_id,
        model_id,
        component_type,
        component_id,
        points
    from {{ ref('int_scoring__score_components') }}
    where points > 0

),
{%- endif %}

-- both CTEs read the table itself: DuckDB materializes a CTE that is
-- referenced twice (36.7M rows at 3M contacts)
component_order as (

    select
        component_type,
        component_id,
        row_number() over (order by component_id asc, component_type asc) as component_rank
    from (
        select distinct
            component_type,
            component_id
        from {{ components }}
        where points > 0 {{ of_score_date }}
    ) as pairs

),

ranked as (

    select
        components.contact_id,
        components.model_id,
        components.component_id,
        components.points,
        row_number() over by_points as reason_rank,
        lead(components.component_id, 1) over by_points as second_component_id,
        lead(components.points, 1) over by_points as second_points,
        lead(components.component_id, 2) over by_points as third_component_id,
        lead(components.points, 2) over by_points as third_points
    from {{ components }} as components
    inner join component_order
        on
            components.component_type = component_order.component_type
            and components.component_id = component_order.component_id
    where components.points > 0 {{ of_score_date }}
    window by_points as (
        partition by components.contact_id, components.model_id
        order by components.points desc, component_order.component_rank asc
    )

)

select
    contact_id,
    model_id,
    component_id || ' +' || cast(points as {{ dbt.type_string() }})
    || coalesce('; ' || second_component_id || ' +' || cast(second_points as {{ dbt.type_string() }}), '')
    || coalesce('; ' || third_component_id || ' +' || cast(third_points as {{ dbt.type_string() }}), '')
        as top_reasons
from ranked
where reason_rank = 1
