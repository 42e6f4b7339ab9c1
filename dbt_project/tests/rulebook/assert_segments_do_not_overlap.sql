-- No employee count falls in two segments (a contact has one segment).

select
    first_segment.segment,
    second_segment.segment as overlapping_segment
from {{ ref('segments') }} as first_segment
inner join {{ ref('segments') }} as second_segment
    on
        first_segment.segment < second_segment.segment
        and first_segment.min_employees < coalesce(second_segment.max_employees, first_segment.min_employees + 1)
        and second_segment.min_employees < coalesce(first_segment.max_employees, second_segment.min_employees + 1)
