{{ config(**by_score_date_config(pre_hook="{{ clear_score_date() }}")) }}

-- Every score date the contact flags were evaluated for, one row per date,
-- whether or not any contact was flagged on it. A date without flags leaves
-- no row in int_quality__contact_flag_history; contact_quality_flags needs
-- it all the same, to know the latest date and to see a flag's run broken
-- by a date on which it was not raised. (The count of flagged contacts is
-- also a column Spark needs: a table cannot be its partition column alone.)

select
    {{ score_date() }} as score_date,
    cast(count(distinct contact_id) as {{ dbt.type_bigint() }}) as flagged_contacts
from {{ ref('int_quality__contact_flag_history') }}
where score_date = {{ score_date() }}
