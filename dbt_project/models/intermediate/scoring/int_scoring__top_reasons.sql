-- The three largest positive components of each score as one readable
-- string, largest first (ties by component_id), e.g.
-- `demo_request +60.00; pricing_page_view +48.51; seniority_vp +20.00`.
-- A score with no positive component has no row (top_reasons is null).
-- One ranking window that also looks ahead to the next two components, kept
-- for each score's first row only. No ordered aggregate (string_agg ...
-- order by): its per-group state does not spill, and at 10M contacts it ran
-- out of a 2.5 GB budget; this form runs in a tenth of that.

with

ranked as (

    select
        contact_id,
        model_id,
        component_id,
        points,
        row_number() over by_points as reason_rank,
        lead(component_id, 1) over by_points as second_component_id,
        lead(points, 1) over by_points as second_points,
        lead(component_id, 2) over by_points as third_component_id,
        lead(points, 2) over by_points as third_points
    from {{ ref('int_scoring__score_components') }}
    where points > 0
    window by_points as (
        partition by contact_id, model_id
        order by points desc, component_id asc, component_type asc
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
