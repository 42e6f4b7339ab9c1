-- Activities that look automated (bot_activity), one row per flagged
-- activity; they are kept but never scored (SPEC section 5). Three
-- heuristics, configured in seeds quality_bot_thresholds,
-- quality_bot_activity_types and quality_scanner_user_agents; each is
-- documented in int_quality__activity_flags.yml.
--
-- The scanner patterns are read from the seed when the model runs and written
-- into the SQL as constants, and matched against the distinct user agents
-- only, in one pass: DuckDB compiles a constant pattern once, a pattern from a
-- joined column once per row.
-- depends_on: {{ ref('quality_scanner_user_agents') }}

{%- set scanner_patterns = [] -%}
{%- if execute -%}
    {%- set seed_relation = load_relation(ref('quality_scanner_user_agents')) -%}
    {#- Missing only outside a build (compile, lint); a build seeds it first. -#}
    {%- if seed_relation is not none -%}
        {%- set scanner_patterns = run_query(
            "select pattern_id, pattern from " ~ seed_relation ~ " order by pattern_id"
        ).rows -%}
    {%- endif -%}
{%- endif %}

with

activities as (

    select
        activity_id,
        contact_id,
        campaign_id,
        activity_type,
        url,
        user_agent,
        occurred_at
    from {{ ref('stg_marketing__activities') }}

),

thresholds as (

    select
        max(case when parameter = 'click_after_send_max_seconds' then value end) as click_after_send_max_seconds,
        max(case when parameter = 'burst_window_seconds' then value end) as burst_window_seconds,
        max(case when parameter = 'burst_min_distinct_urls' then value end) as burst_min_distinct_urls
    from {{ ref('quality_bot_thresholds') }}

),

heuristic_activity_types as (

    select
        lower(trim(heuristic)) as heuristic,
        lower(trim(activity_type)) as activity_type
    from {{ ref('quality_bot_activity_types') }}

),

-- heuristic click_after_send: each click with the latest send of the same
-- campaign to the same contact at or before it (a running max over time;
-- at equal times the send sorts first)
send_and_click_events as (

    select
        activity_id,
        contact_id,
        campaign_id,
        activity_type,
        occurred_at,
        case when activity_type = 'email_send' then occurred_at end as sent_at,
        case when activity_type = 'email_send' then 0 else 1 end as event_order
    from activities
    where
        campaign_id is not null
        and (
            activity_type = 'email_send'
            or activity_type in (
                select heuristic_activity_types.activity_type from heuristic_activity_types
                where heuristic_activity_types.heuristic = 'click_after_send'
            )
        )

),

clicks_with_last_send as (

    select
        activity_id,
        contact_id,
        campaign_id,
        activity_type,
        occurred_at,
        event_order,
        max(sent_at) over (
            partition by contact_id, campaign_id
            order by occurred_at asc, event_order asc
            rows between unbounded preceding and current row
        ) as last_sent_at
    from send_and_click_events

),

click_after_send as (

    select
        clicks_with_last_send.activity_id,
        clicks_with_last_send.contact_id,
        'click_after_send: ' || clicks_with_last_send.activity_type || ' '
        || cast(
            round(epoch(clicks_with_last_send.occurred_at) - epoch(clicks_with_last_send.last_sent_at), 1) as varchar
        )
        || ' s after the email_send of campaign ' || clicks_with_last_send.campaign_id
        || ' (threshold ' || cast(thresholds.click_after_send_max_seconds as varchar) || ' s)' as detail
    from clicks_with_last_send
    cross join thresholds
    where
        clicks_with_last_send.event_order = 1
        and clicks_with_last_send.last_sent_at is not null
        and epoch(clicks_with_last_send.occurred_at) - epoch(clicks_with_last_send.last_sent_at)
        <= thresholds.click_after_send_max_seconds

),

-- heuristic click_burst: many different urls clicked by one contact within
-- one short window (aligned to the epoch; 1 s = the same second)
burst_candidates as (

    select
        activities.activity_id,
        activities.contact_id,
        activities.url,
        floor(epoch(activities.occurred_at) / thresholds.burst_window_seconds) as window_bucket
    from activities
    cross join thresholds
    where
        activities.url is not null
        and activities.activity_type in (
            select heuristic_activity_types.activity_type from heuristic_activity_types
            where heuristic_activity_types.heuristic = 'click_burst'
        )

),

bursts as (

    select
        contact_id,
        window_bucket,
        count(*) as click_count,
        count(distinct url) as distinct_url_count
    from burst_candidates
    group by contact_id, window_bucket

),

click_burst as (

    select
        burst_candidates.activity_id,
        burst_candidates.contact_id,
        'click_burst: ' || cast(bursts.click_count as varchar) || ' clicks on '
        || cast(bursts.distinct_url_count as varchar) || ' different urls within '
        || cast(thresholds.burst_window_seconds as varchar) || ' s (threshold '
        || cast(cast(thresholds.burst_min_distinct_urls as bigint) as varchar) || ' urls)' as detail
    from burst_candidates
    inner join bursts
        on
            burst_candidates.contact_id = bursts.contact_id
            and burst_candidates.window_bucket = bursts.window_bucket
    cross join thresholds
    where bursts.distinct_url_count >= thresholds.burst_min_distinct_urls

),

-- heuristic scanner_user_agent: the patterns run on the distinct user agents
user_agents as (

    select distinct user_agent
    from activities
    where user_agent is not null

),

-- one pass over the distinct user agents; the first matching pattern (by
-- pattern_id) names the scanner
user_agent_matches as (

    select
        user_agent,
        {%- if scanner_patterns %}
            case
                {%- for scanner in scanner_patterns %}
                    when regexp_matches(user_agent, '{{ scanner[1] | replace("'", "''") }}', 'i')
                        then '{{ scanner[0] | replace("'", "''") }}'
                {%- endfor %}
            end
        {%- else %}
            cast(null as {{ dbt.type_string() }})
        {%- endif %} as pattern_id
    from user_agents

),

scanner_user_agents as (

    select
        user_agent,
        pattern_id
    from user_agent_matches
    where pattern_id is not null

),

scanner_user_agent as (

    select
        activities.activity_id,
        activities.contact_id,
        'scanner_user_agent: ' || scanner_user_agents.pattern_id
        || ' (' || activities.user_agent || ')' as detail
    from activities
    inner join scanner_user_agents
        on activities.user_agent = scanner_user_agents.user_agent

),

all_hits as (

    select * from click_after_send
    union all
    select * from click_burst
    union all
    select * from scanner_user_agent

),

distinct_hits as (

    select distinct
        activity_id,
        contact_id,
        detail
    from all_hits

),

-- one row per activity: several heuristics share the detail
final as (

    select
        activity_id,
        contact_id,
        cast('bot_activity' as {{ dbt.type_string() }}) as flag,
        cast({{ dbt.listagg('detail', "'; '", 'order by detail') }} as {{ dbt.type_string() }}) as detail
    from distinct_hits
    group by activity_id, contact_id

)

select * from final
