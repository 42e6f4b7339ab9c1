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
--
-- applies_from_date: SPEC section 4 scores D from the activities known at the
-- end of D. Only a click burst can rest on later activities: a burst across
-- midnight is complete only the next day, so the click before midnight is
-- scored on its own day and left out from the next day on.
--
-- Every heuristic looks only at one contact's own activities, so a contact's
-- flags change only when that contact's activities change: one is loaded for
-- it, or a re-delivered row moves one of its activities to another contact
-- (raw._contact_moves, written by the ingestion, names the contact it left).
-- The table keeps the rows of every other contact from its previous build
-- and re-evaluates the contacts with an activity loaded, or moved away, since
-- (a _load_id above the _loaded_through the table was built with). A change
-- of the three seeds or of this file (_rules_hash), a first build or
-- --full-refresh re-evaluates every activity. Reading the previous rows of
-- the table itself keeps it a plain table: no incremental state can drift
-- from what a full build gives.
--
-- An empty campaign_id or url is null (loading and staging make it so in
-- every landing format). A click and a send match when their campaigns are
-- the same or when either names none (a source that sends no campaign_id
-- still has its scanners caught); a click without a url adds no link to a
-- burst, but counts as a click.
-- depends_on: {{ ref('quality_scanner_user_agents') }}
-- depends_on: {{ ref('quality_bot_thresholds') }}
-- depends_on: {{ ref('quality_bot_activity_types') }}

{%- set scanner_patterns = [] -%}
{#- The click-burst window in microseconds: a window frame needs a constant,
    read from seed quality_bot_thresholds; 1 only where no seed rows exist
    (compile, lint, `--empty`), where nothing is read. -#}
{%- set burst_window = {'us': 1} -%}
{%- set rules_text = [model.raw_code] -%}
{#- Whether the cross-campaign pairings of click_after_send are in the SQL:
    always, unless a build finds no activity they could pair (below). -#}
{%- set uncampaigned = {'any': true} -%}
{%- set previous = none -%}
{%- if execute -%}
    {%- set seed_relation = load_relation(ref('quality_scanner_user_agents')) -%}
    {#- Missing only outside a build (compile, lint); a build seeds it first. -#}
    {%- if seed_relation is not none -%}
        {%- set scanner_patterns = run_query(
            "select pattern_id, pattern from " ~ seed_relation ~ " order by pattern_id"
        ).rows -%}
        {#- The rules fingerprint: the scanner patterns just read, and the other two seeds. -#}
        {%- for row in scanner_patterns -%}
            {%- do rules_text.append('quality_scanner_user_agents:' ~ (row.values() | join('|'))) -%}
        {%- endfor -%}
        {%- set window_rows = run_query(
            "select value from " ~ ref('quality_bot_thresholds')
            ~ " where parameter = 'burst_window_seconds' and value > 0 and value <= 86400"
        ).rows -%}
        {%- if window_rows | length == 1 -%}
            {%- do burst_window.update({'us': (window_rows[0][0] * 1000000) | round | int}) -%}
        {#- `dbt run --empty` reads every ref as no rows: nothing runs then. -#}
        {%- elif run_query("select count(*) from " ~ ref('quality_bot_thresholds')).rows[0][0] > 0 -%}
            {{ exceptions.raise_compiler_error(
                "seed quality_bot_thresholds needs one burst_window_seconds row above 0 and at most "
                ~ "86400 (one day: a burst across midnight is then complete the next day)"
            ) }}
        {%- endif -%}
        {#- Whether any send or click_after_send click names no campaign: only
            then does the SQL pair clicks and sends across campaigns. A scan
            of two columns, stopped at the first such row. -#}
        {%- set uncampaigned_rows = run_query(
            "select count(*) from (select 1 from " ~ ref('stg_marketing__activities')
            ~ " where campaign_id is null and (activity_type = 'email_send' or activity_type in"
            ~ " (select lower(trim(activity_type)) from " ~ ref('quality_bot_activity_types')
            ~ " where lower(trim(heuristic)) = 'click_after_send')) limit 1) as found"
        ).rows -%}
        {%- do uncampaigned.update({'any': uncampaigned_rows[0][0] > 0}) -%}
        {%- for seed in ['quality_bot_thresholds', 'quality_bot_activity_types'] -%}
            {%- for row in run_query("select * from " ~ ref(seed) ~ " order by 1, 2").rows -%}
                {%- do rules_text.append(seed ~ ':' ~ (row.values() | join('|'))) -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set existing = load_relation(this) if this is not none else none -%}
    {#- Spark (non-Delta) drops the table before re-creating it: no reuse there. -#}
    {%- if existing is not none and not flags.FULL_REFRESH and adapter.type() != 'spark' -%}
        {%- set existing_columns = adapter.get_columns_in_relation(existing) | map(attribute='name') | map('lower') | list -%}
        {%- if '_loaded_through' in existing_columns and '_rules_hash' in existing_columns
            and 'applies_from_date' in existing_columns -%}
            {%- set previous = existing -%}
        {%- endif -%}
    {%- endif -%}
{%- endif -%}
{%- set rules_hash = local_md5(rules_text | join('\n')) %}
{#- Where the ingestion records the moved rows; without that table (raw
    tables written by other means) a contact that lost an activity cannot be
    found, and every activity is evaluated again. -#}
{%- set moves = none -%}
{%- if previous is not none -%}
    {%- set raw_activities = source('raw', 'marketing_activities') -%}
    {%- set moves = adapter.get_relation(
        database=raw_activities.database, schema=raw_activities.schema, identifier='_contact_moves'
    ) -%}
    {%- if moves is none -%}
        {%- set previous = none -%}
    {%- endif -%}
{%- endif %}
{#- The previous build's bookkeeping, read before the model runs: the last
    load it saw becomes a constant in the SQL, so the scan for new loads
    skips every row group of older loads (DuckDB's min/max per row group)
    instead of scanning every activity: at 10M contacts and one new load,
    the model alone took 33-36 s, and 28 s this way. An empty table or one
    built with other rules is not reused: the full build's SQL runs. -#}
{%- set loaded_through = {'id': -1} -%}
{%- if previous is not none -%}
    {%- set bookkeeping = run_query(
        "select coalesce(min(_loaded_through), -1), "
        ~ "coalesce(min(case when _rules_hash = '" ~ rules_hash ~ "' then 1 else 0 end), 0) "
        ~ "from " ~ previous
    ).rows[0] -%}
    {%- if bookkeeping[1] == 1 -%}
        {%- do loaded_through.update({'id': bookkeeping[0] | int}) -%}
    {%- else -%}
        {%- set previous = none -%}
    {%- endif -%}
{%- endif %}
{#- Whether the re-evaluated contacts' activities are read once into a buffer
    (CTE `activities` below): only when the new loads are at most a share of
    all activities (var bot_flags_buffer_max_new_share, default 1%; a day's
    load is 0.2%). A re-delivery of most of the history re-evaluates nearly
    every contact, and the buffer would then hold nearly every activity (tens
    of GB of spill at 10M contacts); the streaming plan buffers none.
    Counting reads the load ids only. -#}
{%- set slice = {'buffered': false} -%}
{%- if previous is not none -%}
    {%- set max_new_share = var('bot_flags_buffer_max_new_share', 0.01) | float -%}
    {%- set loads = run_query(
        "select count(*) filter (where _load_id is null or _load_id > " ~ loaded_through['id'] ~ "), "
        ~ "count(*) from " ~ ref('stg_marketing__activities')
    ).rows[0] -%}
    {%- do slice.update({'buffered': loads[0] <= max_new_share * loads[1]}) -%}
{%- endif %}
{%- set micros_per_day = 86400000000 %}

with

all_activities as {{ cte_inlined() }} (

    select
        activity_id,
        contact_id,
        campaign_id,
        activity_type,
        url,
        user_agent,
        occurred_at,
        _load_id
    from {{ ref('stg_marketing__activities') }}

),

{% if previous is not none %}
reevaluated_contacts as (

    select distinct contact_id
    from all_activities
    where
        contact_id is not null
        and (
            _load_id is null  -- a row not written by the ingestion: always re-evaluated
            or _load_id > {{ loaded_through['id'] }}
        )

    union

    -- the contacts that lost an activity to a re-delivered row since
    select old_contact_id as contact_id
    from {{ moves }}
    where
        entity = 'marketing_activities'
        and old_contact_id is not null
        and load_id > {{ loaded_through['id'] }}

),

kept_rows as (

    select
        previous_rows.activity_id,
        previous_rows.contact_id,
        previous_rows.flag,
        previous_rows.detail,
        previous_rows.applies_from_date
    from {{ previous }} as previous_rows
    -- an anti join: unlike `not in`, never empty because of a null
    left join reevaluated_contacts
        on previous_rows.contact_id = reevaluated_contacts.contact_id
    where reevaluated_contacts.contact_id is null

),
{% endif %}

-- A full build inlines the activities into each of their five readers, so
-- each scan of all of them reads only its own columns. When only the
-- contacts of a small new load are re-evaluated (slice.buffered above),
-- their activities are a slice (5% at 1M contacts, a day's load): read once
-- and shared by the five readers instead of a scan of every activity per
-- reader, each joined to the contacts (the model alone at 1M, next day:
-- 1.6-2.0 s against 2.9-3.4 s; at 10M 26-29 s against 28-37 s, the slice
-- spilling to disk).
activities as {{ cte_materialized() if slice['buffered'] else cte_inlined() }} (

    select
        activity_id,
        contact_id,
        campaign_id,
        activity_type,
        url,
        user_agent,
        occurred_at
    from all_activities
    {%- if previous is not none %}
        where contact_id in (select reevaluated_contacts.contact_id from reevaluated_contacts)
    {%- endif %}

),

thresholds as (

    select
        max(case when parameter = 'click_after_send_max_seconds' then value end) as click_after_send_max_seconds,
        max(case when parameter = 'burst_window_seconds' then value end) as burst_window_seconds,
        max(case when parameter = 'burst_min_distinct_urls' then value end) as burst_min_distinct_urls,
        max(case when parameter = 'burst_min_clicks' then value end) as burst_min_clicks
    from {{ ref('quality_bot_thresholds') }}

),

heuristic_activity_types as (

    select
        lower(trim(heuristic)) as heuristic,
        lower(trim(activity_type)) as activity_type
    from {{ ref('quality_bot_activity_types') }}

),

-- heuristic click_after_send: each click against the latest send to the
-- same contact at or before it whose campaign matches: the same campaign, or
-- either names none. The latest send is within the threshold exactly when
-- some send is, so the sends in [click - threshold, click] are joined (an
-- equi-join on the contact, then the campaign and the time range) instead of
-- ordering every send and click of the year.
sends as (

    select
        contact_id,
        campaign_id,
        occurred_at as sent_at
    from activities
    where activity_type = 'email_send'

),

clicks as (

    select
        activity_id,
        contact_id,
        campaign_id,
        activity_type,
        occurred_at
    from activities
    where
        activity_type in (
            select heuristic_activity_types.activity_type from heuristic_activity_types
            where heuristic_activity_types.heuristic = 'click_after_send'
        )

),

-- same campaign (an equi-join); and, where some click or send of the
-- activities names no campaign, a click without one with any send to its
-- contact and a send without one with any click. Those two pairings are left
-- out of the SQL when no such activity exists (uncampaigned above): each
-- reads the activities once more (1M contacts, the model alone: 6.3-6.7 s
-- with them, 4.7 s without); one join on the contact with the campaign test
-- as a residual took 15 s.
click_send_pairs as (
    {#- each pairing apart, so that its filter runs in or before its join -#}
    {%- set pairings = ['clicks.campaign_id = sends.campaign_id'] -%}
    {%- if uncampaigned['any'] -%}
        {%- do pairings.append('clicks.campaign_id is null') -%}
        {%- do pairings.append('clicks.campaign_id is not null and sends.campaign_id is null') -%}
    {%- endif %}
    {%- for pairing in pairings %}
        {%- if not loop.first %}

            union all
        {%- endif %}

        select
            clicks.activity_id,
            clicks.contact_id,
            clicks.campaign_id,
            clicks.activity_type,
            clicks.occurred_at,
            sends.sent_at,
            coalesce(clicks.campaign_id = sends.campaign_id, false) as same_campaign
        from clicks
        inner join sends
            on
                clicks.contact_id = sends.contact_id
                and clicks.occurred_at >= sends.sent_at
        where {{ pairing }}
    {%- endfor %}

),

clicks_with_last_send as (

    select
        click_send_pairs.activity_id,
        click_send_pairs.contact_id,
        click_send_pairs.campaign_id,
        click_send_pairs.activity_type,
        click_send_pairs.occurred_at,
        click_send_pairs.same_campaign,
        max(click_send_pairs.sent_at) as last_sent_at
    from click_send_pairs
    cross join thresholds
    where
        {{ epoch_seconds('click_send_pairs.occurred_at') }} - {{ epoch_seconds('click_send_pairs.sent_at') }}
        <= thresholds.click_after_send_max_seconds
    group by
        click_send_pairs.activity_id,
        click_send_pairs.contact_id,
        click_send_pairs.campaign_id,
        click_send_pairs.activity_type,
        click_send_pairs.occurred_at,
        click_send_pairs.same_campaign

),

click_after_send as (

    select
        clicks_with_last_send.activity_id,
        clicks_with_last_send.contact_id,
        'click_after_send: ' || clicks_with_last_send.activity_type || ' '
        || cast(
            round(
                {{ epoch_seconds('clicks_with_last_send.occurred_at') }}
                - {{ epoch_seconds('clicks_with_last_send.last_sent_at') }},
                1
            ) as {{ dbt.type_string() }}
        )
        || case
            when clicks_with_last_send.same_campaign
                then ' s after the email_send of campaign ' || clicks_with_last_send.campaign_id
            else ' s after an email_send, one of the two without a campaign'
        end
        || ' (threshold ' || cast(thresholds.click_after_send_max_seconds as {{ dbt.type_string() }})
        || ' s)' as detail,
        -- the send is at or before the click: known on the click's day
        cast(clicks_with_last_send.occurred_at as date) as applies_from_date
    from clicks_with_last_send
    cross join thresholds

),

-- heuristic click_burst: many different urls clicked by one contact within
-- one window of burst_window_seconds, wherever it starts (a sliding window
-- over the microsecond timestamps, half-open: [t, t + window)). Two readers,
-- the windows and near_midnight_clicks: these few clicks (6% of the
-- activities) are written once instead of every activity being scanned twice
-- (1M contacts, the model alone: 5.8 s against 7.5 s a full build, 0.9 s
-- against 1.35 s when no contact has new activities).
burst_candidates as {{ cte_materialized() }} (

    select
        activities.activity_id,
        activities.contact_id,
        activities.url,
        cast(activities.occurred_at as date) as activity_date,
        {{ epoch_micros('activities.occurred_at') }} as occurred_us
    from activities
    where
        activities.activity_type in (
            select heuristic_activity_types.activity_type from heuristic_activity_types
            where heuristic_activity_types.heuristic = 'click_burst'
        )

),

-- per click: how many clicks the contact made in the window that starts at
-- it, and the most in any of the contact's windows
burst_click_counts as (

    select
        activity_id,
        contact_id,
        url,
        activity_date,
        occurred_us,
        count(*) over (
            partition by contact_id
            order by occurred_us
            range between current row and {{ burst_window['us'] - 1 }} following
        ) as click_count
    from burst_candidates

),

burst_contact_counts as (

    select
        activity_id,
        contact_id,
        url,
        activity_date,
        occurred_us,
        click_count,
        max(click_count) over (partition by contact_id) as most_window_clicks
    from burst_click_counts

),

-- per click: how many different urls the contact clicked in the window that
-- starts at it, for the contacts with a window of at least
-- burst_min_distinct_urls (or burst_min_clicks) clicks only (at 1M contacts
-- 12% of the clicks; the model alone 4.6-5.0 s against 6.4-6.7 s): in the
-- other contacts' windows there are fewer clicks than either, so fewer urls,
-- and none of their clicks can be part of a burst.
burst_windows as (

    select
        burst_contact_counts.activity_id,
        burst_contact_counts.contact_id,
        burst_contact_counts.activity_date,
        burst_contact_counts.occurred_us,
        burst_contact_counts.click_count,
        {{ window_count_distinct(
            'burst_contact_counts.url',
            'partition by burst_contact_counts.contact_id order by burst_contact_counts.occurred_us '
            ~ 'range between current row and ' ~ (burst_window['us'] - 1) ~ ' following'
        ) }} as distinct_url_count
    from burst_contact_counts
    cross join thresholds
    where
        burst_contact_counts.most_window_clicks >= thresholds.burst_min_distinct_urls
        or burst_contact_counts.most_window_clicks >= thresholds.burst_min_clicks

),

-- a click belongs to every window that starts at most a window earlier: its
-- largest counts say whether it is part of a burst
burst_members as (

    select
        activity_id,
        contact_id,
        activity_date,
        max(distinct_url_count) over (
            partition by contact_id
            order by occurred_us
            range between {{ burst_window['us'] - 1 }} preceding and current row
        ) as burst_url_count,
        max(click_count) over (
            partition by contact_id
            order by occurred_us
            range between {{ burst_window['us'] - 1 }} preceding and current row
        ) as burst_click_count
    from burst_windows

),

click_burst as (

    select
        burst_members.activity_id,
        burst_members.contact_id,
        case
            when burst_members.burst_url_count >= thresholds.burst_min_distinct_urls
                then
                    'click_burst: ' || cast(burst_members.burst_url_count as {{ dbt.type_string() }})
                    || ' different urls within '
                    || cast(thresholds.burst_window_seconds as {{ dbt.type_string() }})
                    || ' s (threshold '
                    || cast(cast(thresholds.burst_min_distinct_urls as bigint) as {{ dbt.type_string() }})
                    || ' urls)'
            else
                'click_burst: ' || cast(burst_members.burst_click_count as {{ dbt.type_string() }})
                || ' clicks within ' || cast(thresholds.burst_window_seconds as {{ dbt.type_string() }})
                || ' s (threshold '
                || cast(cast(thresholds.burst_min_clicks as bigint) as {{ dbt.type_string() }})
                || ' clicks)'
        end as detail,
        burst_members.activity_date
    from burst_members
    cross join thresholds
    where
        burst_members.burst_url_count >= thresholds.burst_min_distinct_urls
        or burst_members.burst_click_count >= thresholds.burst_min_clicks

),

-- A burst member within one window of its day's end may owe its flag to
-- clicks of the next day. For these few clicks only, the windows that hold
-- them are counted again without the clicks of later days; when no window
-- then reaches the threshold, the flag applies from the next day on. Those
-- windows and their clicks all lie within two windows of the day's end.
near_midnight_clicks as (

    select
        activity_id,
        contact_id,
        url,
        occurred_us,
        -- the next midnight (UTC), in epoch microseconds
        (floor(occurred_us / {{ micros_per_day }}) + 1) * {{ micros_per_day }} as day_end_us
    from burst_candidates
    where
        occurred_us + {{ 2 * burst_window['us'] }}
        > (floor(occurred_us / {{ micros_per_day }}) + 1) * {{ micros_per_day }}

),

late_burst_members as (

    select
        near_midnight_clicks.activity_id,
        near_midnight_clicks.contact_id,
        near_midnight_clicks.occurred_us,
        near_midnight_clicks.day_end_us
    from near_midnight_clicks
    inner join click_burst
        on near_midnight_clicks.activity_id = click_burst.activity_id
    where near_midnight_clicks.occurred_us + {{ burst_window['us'] }} > near_midnight_clicks.day_end_us

),

-- the windows holding a late member: those starting at most a window earlier
late_window_starts as (

    select
        late_burst_members.activity_id,
        late_burst_members.contact_id,
        late_burst_members.day_end_us,
        near_midnight_clicks.occurred_us as start_us
    from late_burst_members
    inner join near_midnight_clicks
        on
            late_burst_members.contact_id = near_midnight_clicks.contact_id
            and late_burst_members.occurred_us - {{ burst_window['us'] }} < near_midnight_clicks.occurred_us
            and late_burst_members.occurred_us >= near_midnight_clicks.occurred_us

),

late_window_counts as (

    select
        late_window_starts.activity_id,
        late_window_starts.start_us,
        count(distinct near_midnight_clicks.url) as distinct_url_count,
        count(*) as click_count
    from late_window_starts
    inner join near_midnight_clicks
        on
            late_window_starts.contact_id = near_midnight_clicks.contact_id
            and late_window_starts.start_us <= near_midnight_clicks.occurred_us
            and late_window_starts.start_us + {{ burst_window['us'] }} > near_midnight_clicks.occurred_us
            and late_window_starts.day_end_us > near_midnight_clicks.occurred_us
    group by late_window_starts.activity_id, late_window_starts.start_us

),

bursts_complete_next_day as (

    select late_window_counts.activity_id
    from late_window_counts
    cross join thresholds
    group by
        late_window_counts.activity_id,
        thresholds.burst_min_distinct_urls,
        thresholds.burst_min_clicks
    having
        max(late_window_counts.distinct_url_count) < thresholds.burst_min_distinct_urls
        and max(late_window_counts.click_count) < thresholds.burst_min_clicks

),

click_burst_dated as (

    select
        click_burst.activity_id,
        click_burst.contact_id,
        click_burst.detail,
        case
            when bursts_complete_next_day.activity_id is not null
                then cast({{ dbt.dateadd('day', 1, 'click_burst.activity_date') }} as date)
            else click_burst.activity_date
        end as applies_from_date
    from click_burst
    left join bursts_complete_next_day
        on click_burst.activity_id = bursts_complete_next_day.activity_id

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
                    when {{ regex_matches_ci('user_agent', sql_string_literal(scanner[1])) }}
                        then {{ sql_string_literal(scanner[0]) }}
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
        || ' (' || activities.user_agent || ')' as detail,
        cast(activities.occurred_at as date) as applies_from_date
    from activities
    inner join scanner_user_agents
        on activities.user_agent = scanner_user_agents.user_agent

),

all_hits as (

    select * from click_after_send
    union all
    select * from click_burst_dated
    union all
    select * from scanner_user_agent

),

distinct_hits as (

    select distinct
        activity_id,
        contact_id,
        detail,
        applies_from_date
    from all_hits

),

-- one row per activity: several heuristics share the detail
evaluated_rows as (

    select
        activity_id,
        contact_id,
        cast('bot_activity' as {{ dbt.type_string() }}) as flag,
        cast({{ dbt.listagg('detail', "'; '", 'order by detail') }} as {{ dbt.type_string() }}) as detail,
        -- the earliest date some heuristic's evidence is complete
        min(applies_from_date) as applies_from_date
    from distinct_hits
    group by activity_id, contact_id

),

final as (

    select * from evaluated_rows
    {%- if previous is not none %}
        union all
        select * from kept_rows
    {%- endif %}

)

select
    final.activity_id,
    final.contact_id,
    final.flag,
    final.detail,
    cast(final.applies_from_date as date) as applies_from_date,
    -- the build's bookkeeping: the last load it has seen and its rules
    (select coalesce(max(all_activities._load_id), -1) from all_activities) as _loaded_through,
    cast('{{ rules_hash }}' as {{ dbt.type_string() }}) as _rules_hash
from final
