-- A thresholds row names a segment of seed segments, `unknown` or `*`.

{{ config(meta={'dagster': {'ref': {'name': 'thresholds'}}}) }}

select
    thresholds.model_id,
    thresholds.segment
from {{ ref('thresholds') }} as thresholds
left join {{ ref('segments') }} as segments
    on thresholds.segment = segments.segment
where
    segments.segment is null
    and thresholds.segment not in ('unknown', '*')
