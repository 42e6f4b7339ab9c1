-- int_quality__contact_flags has one row per contact x flag (several rules of
-- one flag share the row's detail).

select
    contact_id,
    flag,
    count(*) as row_count
from {{ ref('int_quality__contact_flags') }}
group by contact_id, flag
having count(*) > 1
