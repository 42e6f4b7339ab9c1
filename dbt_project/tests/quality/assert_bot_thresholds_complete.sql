-- Every bot_activity threshold is configured with a positive value: a missing
-- row would silently switch its heuristic off.

with

expected as (

    select 'click_after_send_max_seconds' as parameter_name
    union all
    select 'burst_window_seconds' as parameter_name
    union all
    select 'burst_min_distinct_urls' as parameter_name
    union all
    select 'burst_min_clicks' as parameter_name

),

configured as (

    select
        parameter as parameter_name,
        value as parameter_value
    from {{ ref('quality_bot_thresholds') }}

)

select expected.parameter_name
from expected
left join configured
    on expected.parameter_name = configured.parameter_name
where configured.parameter_value is null or configured.parameter_value <= 0
