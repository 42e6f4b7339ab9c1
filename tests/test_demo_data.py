"""Tests for the deterministic sample-data generator (orchestration/demo_data.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
from disposable_email_domains import blocklist
from email_validator import EmailNotValidError, validate_email

from orchestration.demo_data import (
    ACTIVITY_DIRT_KINDS,
    ACTIVITY_TYPES,
    CONTACT_DIRT_KINDS,
    PRODUCT_LINES,
    ROLE_LOCAL_PARTS,
    SCANNER_USER_AGENTS,
    TEST_DOMAINS,
    GenerationSummary,
    generate,
)

END = dt.date(2026, 11, 22)
DAYS = 365
START = dt.datetime(2026, 11, 23) - dt.timedelta(days=DAYS)
END_EXCL = dt.datetime(2026, 11, 23)

COLUMNS = {
    "accounts": [
        "account_id",
        "account_name",
        "domain",
        "industry",
        "employee_count",
        "annual_revenue",
        "country",
        "created_at",
        "updated_at",
    ],
    "contacts": [
        "contact_id",
        "email",
        "created_at",
        "account_id",
        "first_name",
        "last_name",
        "job_title",
        "phone",
        "country",
        "lead_source",
        "email_opt_out",
        "updated_at",
    ],
    "opportunities": [
        "opportunity_id",
        "account_id",
        "contact_id",
        "product_line",
        "stage",
        "amount",
        "closed_at",
        "is_won",
        "created_at",
    ],
    "activities": [
        "activity_id",
        "contact_id",
        "activity_type",
        "occurred_at",
        "channel",
        "url",
        "campaign_id",
        "product_line",
        "user_agent",
    ],
}
DECISION = ("demo_request", "pricing_page_view", "trial_start")
Demo = tuple[GenerationSummary, duckdb.DuckDBPyConnection]


def _read_csv(path: Path | str) -> str:
    # all_varchar: compare exactly what is in the file; the tests cast where they need to.
    return f"read_csv('{path}', header = true, all_varchar = true)"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The default-size CSV demo, loaded once into DuckDB tables (raw text and typed)."""
    root = tmp_path_factory.mktemp("demo")
    summary = generate(root / "landing", end_date=END)
    land = root / "landing"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for entity in ("accounts", "contacts", "opportunities"):
        source = _read_csv(land / "crm" / f"{entity}.csv")
        con.execute(f"create table raw_{entity} as select * from {source}")
    con.execute(
        "create table raw_activities as select * from "
        f"{_read_csv(land / 'marketing' / 'activities_*.csv')}"
    )
    con.execute("""create table contacts as select * replace (
        created_at::timestamp as created_at) from raw_contacts""")
    con.execute("""create table opportunities as select * replace (
        created_at::timestamp as created_at, closed_at::timestamp as closed_at,
        is_won::boolean as is_won, amount::decimal(12, 2) as amount) from raw_opportunities""")
    con.execute("""create table activities as select * replace (
        occurred_at::timestamp as occurred_at) from raw_activities""")
    con.execute(f"create table truth as select * from '{summary.truth_path}'")
    con.execute(f"create table legit as select * from '{summary.legit_path}'")
    return summary, con


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    return con.execute(sql).fetchone()[0]


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# ---------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_same_seed_gives_byte_identical_files_and_other_seed_differs(
    tmp_path: Path, file_format: str
) -> None:
    kwargs = {
        "contacts": 600,
        "end_date": END,
        "activities_per_contact": 10,
        "file_format": file_format,
    }
    generate(tmp_path / "a" / "landing", seed=7, **kwargs)
    generate(tmp_path / "b" / "landing", seed=7, **kwargs)
    generate(tmp_path / "c" / "landing", seed=8, **kwargs)
    first, second, other = (_hashes(tmp_path / x) for x in "abc")
    assert first == second
    assert first.keys() == other.keys()
    assert all(first[k] != other[k] for k in first if "crm" in k or "demo_truth" in k)


def test_rerun_replaces_previous_files_in_another_format(tmp_path: Path) -> None:
    land = tmp_path / "landing"
    generate(land, contacts=200, end_date=END, activities_per_contact=5)
    (land / "notes.txt").write_text("not ours")
    summary = generate(
        land, contacts=200, end_date=END, activities_per_contact=5, file_format="parquet"
    )
    written = sorted(p for p in land.rglob("*") if p.is_file())
    assert not [p for p in written if p.suffix == ".csv"]
    assert (land / "notes.txt").exists()
    assert set(written) - {land / "notes.txt"} == set(summary.files)


# ---------------------------------------------------------------------------- layout


def test_layout_and_columns_match_the_landing_contract(demo: Demo) -> None:
    summary, con = demo
    land = summary.landing_dir
    crm = sorted(p.name for p in (land / "crm").iterdir())
    assert crm == ["accounts.csv", "contacts.csv", "opportunities.csv"]
    months = sorted(p.name for p in (land / "marketing").iterdir())
    assert len(months) >= 12
    assert all(re.fullmatch(r"activities_\d{4}_\d{2}\.csv", m) for m in months)
    assert months[-1] == "activities_2026_11.csv"
    for entity in ("accounts", "contacts", "opportunities"):
        header = (land / "crm" / f"{entity}.csv").read_text(encoding="utf-8").split("\n", 1)[0]
        assert header.split(",") == COLUMNS[entity]
    for month in months:
        header = (land / "marketing" / month).read_text(encoding="utf-8").split("\n", 1)[0]
        assert header.split(",") == COLUMNS["activities"]
    assert summary.rows["contacts"] == 2000
    assert summary.rows["accounts"] == 400
    for entity in ("accounts", "contacts", "opportunities", "activities"):
        assert _one(con, f"select count(*) from raw_{entity}") == summary.rows[entity]
    # Roughly the requested volume (30 per contact).
    assert 45_000 < summary.rows["activities"] < 70_000
    # Summary paths are outside the landing folder.
    assert land not in summary.truth_path.parents


def test_ids_are_unique_zero_padded_and_ordered(demo: Demo) -> None:
    summary, con = demo
    patterns = {
        "accounts": ("account_id", r"A\d{6}"),
        "contacts": ("contact_id", r"C\d{7}"),
        "opportunities": ("opportunity_id", r"O\d{6}"),
        "activities": ("activity_id", r"ACT\d{8}"),
    }
    for entity, (col, pattern) in patterns.items():
        ids = [r[0] for r in con.execute(f"select {col} from raw_{entity}").fetchall()]
        assert len(ids) == len(set(ids)), entity
        assert all(re.fullmatch(pattern, i) for i in ids), entity
    for path in summary.landing_dir.rglob("*.csv"):
        ids = [r[0] for r in con.execute(f"select * from {_read_csv(path)}").fetchall()]
        assert ids == sorted(ids), path  # lexical = numeric order, file sorted by id
    # Activity ids are chronological.
    assert (
        _one(
            con,
            """select count(*) from (select occurred_at, lag(occurred_at) over (
        order by activity_id) as prev from activities) where occurred_at < prev""",
        )
        == 0
    )


def test_csv_formats(demo: Demo) -> None:
    _, con = demo
    iso_utc = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ"
    assert (
        _one(
            con,
            f"""select count(*) from raw_activities
        where not regexp_full_match(occurred_at, '{iso_utc}')""",
        )
        == 0
    )
    assert (
        _one(
            con,
            """select count(*) from raw_contacts
        where email_opt_out not in ('true', 'false')""",
        )
        == 0
    )
    assert (
        _one(
            con,
            """select count(*) from raw_opportunities
        where is_won not in ('true', 'false')""",
        )
        == 0
    )
    countries = {
        r[0]
        for r in con.execute(
            "select distinct country from raw_contacts where country is not null"
        ).fetchall()
    }
    assert {"US", "GB", "DE", "FR", "BR", "IN"} <= countries
    assert all(re.fullmatch(r"[A-Z]{2}", c) for c in countries)
    industries = {
        r[0] for r in con.execute("select distinct industry from raw_accounts").fetchall()
    }
    assert len(industries) == 10
    assert _one(con, "select max(employee_count::int) from raw_accounts") > 1000
    assert _one(con, "select min(employee_count::int) from raw_accounts") < 10


# ---------------------------------------------------------------------------- activities


def test_vocabulary_channels_and_product_lines(demo: Demo) -> None:
    _, con = demo
    types = {r[0] for r in con.execute("select distinct activity_type from activities").fetchall()}
    assert set(ACTIVITY_TYPES) <= types
    assert {r[0] for r in con.execute("select distinct channel from activities").fetchall()} == {
        "web",
        "email",
        "content",
        "events",
        "social",
        "sales",
        "ads",
    }
    lines = {
        r[0]
        for r in con.execute(
            "select distinct product_line from activities where product_line is not null"
        ).fetchall()
    }
    assert lines == set(PRODUCT_LINES)
    assert _one(con, "select count(*) from activities where product_line is null") > 0
    opp_lines = {
        r[0] for r in con.execute("select distinct product_line from opportunities").fetchall()
    }
    assert opp_lines == set(PRODUCT_LINES)


def test_activity_timestamps_within_the_period(demo: Demo) -> None:
    _, con = demo
    lo, hi = con.execute("select min(occurred_at), max(occurred_at) from activities").fetchone()
    assert lo >= START
    assert hi < END_EXCL
    # Known contacts act only after they exist in the CRM.
    assert (
        _one(
            con,
            """select count(*) from activities a join contacts c using (contact_id)
        where a.occurred_at < c.created_at""",
        )
        == 0
    )


def test_email_opens_and_clicks_follow_a_send_of_the_same_campaign(demo: Demo) -> None:
    _, con = demo
    assert (
        _one(
            con,
            """select count(*) from activities
        where channel = 'email' and campaign_id is null""",
        )
        == 0
    )
    assert (
        _one(
            con,
            """select count(*) from activities e
        where e.activity_type in ('email_open', 'email_click', 'email_bounce')
          and not exists (select 1 from activities s where s.activity_type = 'email_send'
              and s.contact_id = e.contact_id and s.campaign_id = e.campaign_id
              and s.occurred_at < e.occurred_at)""",
        )
        == 0
    )
    assert _one(con, "select count(*) from activities where activity_type = 'email_open'") > 0
    # Whoever unsubscribed is opted out, and gets no mail afterwards.
    assert (
        _one(
            con,
            """select count(*) from activities a join contacts c using (contact_id)
        where a.activity_type = 'email_unsubscribe' and c.email_opt_out <> 'true'""",
        )
        == 0
    )
    assert (
        _one(
            con,
            """select count(*) from activities u join activities s using (contact_id)
        where u.activity_type = 'email_unsubscribe' and s.activity_type = 'email_send'
          and s.occurred_at > u.occurred_at""",
        )
        == 0
    )


def test_recency_depends_on_intent(demo: Demo) -> None:
    _, con = demo
    # Many contacts go quiet (no engagement beyond receiving mail) months before the end.
    quiet = _one(
        con,
        f"""select avg((last < timestamp '{END_EXCL}' - interval 90 day)::int)
        from (select contact_id, max(occurred_at) as last from activities
              where activity_type not in ('email_send', 'email_bounce') group by 1)""",
    )
    assert 0.2 < quiet < 0.8


# ---------------------------------------------------------------------------- dirt


def test_truth_has_every_planted_kind(demo: Demo) -> None:
    summary, con = demo
    counts = dict(con.execute("select kind, count(*) from truth group by 1").fetchall())
    for kind in CONTACT_DIRT_KINDS + ACTIVITY_DIRT_KINDS:
        assert counts.get(kind, 0) >= 3, kind
        assert summary.planted[kind] == counts[kind]
    for kind in CONTACT_DIRT_KINDS:
        share = counts[kind] / summary.rows["contacts"]
        assert 0.005 <= share <= 0.03, kind
    # Every truth id refers to a row that exists.
    assert (
        _one(
            con,
            """select count(*) from truth t where entity = 'contact'
        and t.id not in (select contact_id from contacts)""",
        )
        == 0
    )
    assert (
        _one(
            con,
            """select count(*) from truth t where entity = 'activity'
        and t.id not in (select activity_id from activities)""",
        )
        == 0
    )
    assert set(con.execute("select distinct entity from truth").fetchall()) == {
        ("contact",),
        ("activity",),
    }


def test_invalid_and_valid_emails_agree_with_email_validator(demo: Demo) -> None:
    _, con = demo
    rows = con.execute("""select c.email, t.kind from contacts c
        left join truth t on t.id = c.contact_id""").fetchall()
    for email, kind in rows:
        try:
            validate_email((email or "").strip(), check_deliverability=False)
            valid = True
        except EmailNotValidError:
            valid = False
        assert valid == (kind != "invalid_email"), (email, kind)


def test_contact_dirt_patterns(demo: Demo) -> None:
    _, con = demo

    def emails(kind: str) -> list[str]:
        return [
            r[0]
            for r in con.execute(f"""select c.email from contacts c join truth t
            on t.id = c.contact_id where t.kind = '{kind}'""").fetchall()
        ]

    def domain(email: str) -> str:
        return email.strip().lower().rsplit("@", 1)[1]

    def in_blocklist(dom: str) -> bool:
        parts = dom.split(".")
        return any(".".join(parts[i:]) in blocklist for i in range(len(parts) - 1))

    disposable = emails("disposable_email")
    assert all(in_blocklist(domain(e)) for e in disposable)
    assert any(domain(e) not in blocklist for e in disposable)  # a subdomain case exists
    assert all(e.split("@")[0] in ROLE_LOCAL_PARTS for e in emails("role_account"))
    fake = con.execute("""select c.email, c.first_name, c.last_name, t.detail from contacts c
        join truth t on t.id = c.contact_id where t.kind = 'test_or_fake'""").fetchall()
    assert {d for *_, d in fake} == {
        "test_domain",
        "keyboard_mash",
        "placeholder_name",
        "digits_in_name",
    }
    assert all(domain(e) in TEST_DOMAINS for e, *_, d in fake if d == "test_domain")
    assert all(re.search(r"\d", f) for _, f, _, d in fake if d == "digits_in_name")
    # Nothing else is dirty by those rules: clean contacts avoid every planted pattern.
    clean = [
        r[0]
        for r in con.execute("""select email from contacts
        where contact_id not in (select id from truth)""").fetchall()
    ]
    for email in clean:
        local, dom = email.lower().split("@")
        assert local.split("+")[0] not in ROLE_LOCAL_PARTS
        assert not in_blocklist(dom) and dom not in TEST_DOMAINS
    assert "mailinator.com" not in {domain(e) for e in clean}


def test_legit_lookalikes_are_planted_and_not_dirt(demo: Demo) -> None:
    _, con = demo
    kinds = dict(con.execute("select kind, count(*) from legit group by 1").fetchall())
    for kind in (
        "plus_address",
        "role_lookalike",
        "apostrophe_name",
        "accented_name",
        "io_domain",
        "free_email",
        "apostrophe_in_email",
    ):
        assert kinds.get(kind, 0) > 0, kind
    assert _one(con, "select count(*) from legit where id in (select id from truth)") == 0
    lookalikes = [
        r[0]
        for r in con.execute("select detail from legit where kind = 'role_lookalike'").fetchall()
    ]
    assert all(re.match(r"^[a-z]+\.[a-z]+@", e) for e in lookalikes)
    free = _one(con, "select count(*) from legit where kind = 'free_email'") / 2000
    assert 0.10 < free < 0.22
    names = {r[0] for r in con.execute("select last_name from contacts").fetchall()}
    assert "O'Brien" in names or "O'Neil" in names


def test_duplicates_share_the_normalised_email_of_an_earlier_contact(demo: Demo) -> None:
    _, con = demo
    rows = con.execute("""select d.email, o.email, d.created_at > o.created_at,
            d.contact_id > o.contact_id
        from truth t
        join contacts d on d.contact_id = t.id
        join contacts o on o.contact_id = regexp_extract(t.detail, 'duplicate_of=(C\\d+)', 1)
        where t.kind = 'duplicate'""").fetchall()
    assert len(rows) == _one(con, "select count(*) from truth where kind = 'duplicate'")
    for dup, orig, later, higher_id in rows:
        assert dup != orig
        assert dup.strip().lower() == orig.strip().lower()
        assert later and higher_id
    # Some duplicates have activities of their own; a few people have three rows.
    assert (
        _one(
            con,
            """select count(distinct contact_id) from activities
        where contact_id in (select id from truth where kind = 'duplicate')""",
        )
        > 0
    )
    assert (
        _one(
            con,
            """select max(n) from (select regexp_extract(detail, 'C\\d+') o, count(*) n
        from truth where kind = 'duplicate' group by 1)""",
        )
        >= 2
    )
    # No accidental duplicates: apart from planted ones, normalised emails are unique.
    assert (
        _one(
            con,
            """select count(*) from (select lower(trim(email)) e, count(*) n
        from contacts where contact_id not in (select id from truth where kind = 'duplicate')
          and trim(email) <> '' group by 1 having n > 1)""",
        )
        == 0
    )


def test_bot_clicks_are_scanner_bursts_seconds_after_a_send(demo: Demo) -> None:
    _, con = demo
    con.execute("""create or replace temp table bot as
        select a.*, (select min(date_diff('second', s.occurred_at, a.occurred_at))
                     from activities s where s.activity_type = 'email_send'
                       and s.contact_id = a.contact_id and s.campaign_id = a.campaign_id
                       and s.occurred_at <= a.occurred_at) as gap
        from activities a join truth t on t.id = a.activity_id and t.kind = 'bot_activity'""")
    assert _one(con, "select count(*) from bot where activity_type <> 'email_click'") == 0
    assert _one(con, "select min(gap) from bot") >= 1
    assert _one(con, "select max(gap) from bot") <= 5
    agents = {r[0] for r in con.execute("select distinct user_agent from bot").fetchall()}
    assert agents <= set(SCANNER_USER_AGENTS)
    # Several different links in the same second per burst.
    assert (
        _one(
            con,
            """select min(n) from (select contact_id, occurred_at,
        count(distinct url) n from bot group by 1, 2)""",
        )
        >= 2
    )
    # Human clicks are never that fast, so a timing rule can be exact.
    assert (
        _one(
            con,
            """select count(*) from activities a
        where a.activity_type = 'email_click'
          and a.activity_id not in (select id from truth where kind = 'bot_activity')
          and exists (select 1 from activities s where s.activity_type = 'email_send'
              and s.contact_id = a.contact_id and s.campaign_id = a.campaign_id
              and a.occurred_at between s.occurred_at
                  and s.occurred_at + interval 60 second)""",
        )
        == 0
    )


def test_orphan_and_unknown_type_activities(demo: Demo) -> None:
    _, con = demo
    assert (
        _one(
            con,
            """select count(*) from activities a join truth t
        on t.id = a.activity_id and t.kind = 'orphan_activity'
        where a.contact_id in (select contact_id from contacts)""",
        )
        == 0
    )
    assert (
        _one(
            con,
            """select count(*) from activities where activity_id not in
        (select id from truth where kind = 'orphan_activity')
        and contact_id not in (select contact_id from contacts)""",
        )
        == 0
    )
    unknown = {
        r[0]
        for r in con.execute("""select distinct a.activity_type from activities a
        join truth t on t.id = a.activity_id and t.kind = 'unknown_activity_type'""").fetchall()
    }
    assert unknown and not unknown & set(ACTIVITY_TYPES)
    assert "podcast_listen" in unknown


# ---------------------------------------------------------------------------- conversion


def test_opportunities_are_plausible(demo: Demo) -> None:
    _, con = demo
    with_opp = (
        _one(
            con,
            """select count(distinct contact_id) from opportunities
        where contact_id is not null""",
        )
        / 2000
    )
    assert 0.05 <= with_opp <= 0.10
    won = _one(con, "select avg(is_won::int) from opportunities")
    assert 0.2 <= won <= 0.4
    assert (
        _one(
            con,
            """select count(*) from opportunities where
        (stage in ('closed_won', 'closed_lost')) <> (closed_at is not null)
        or is_won <> (stage = 'closed_won') or amount is null or amount <= 0
        or closed_at < created_at or closed_at >= timestamp '2026-11-23'""",
        )
        == 0
    )
    assert (
        _one(
            con,
            """select count(*) from opportunities o
        where o.account_id not in (select account_id from raw_accounts)""",
        )
        == 0
    )
    # Each contact opportunity is preceded by that contact's demo request.
    assert (
        _one(
            con,
            """select count(*) from opportunities o where contact_id is not null
        and not exists (select 1 from activities a where a.contact_id = o.contact_id
            and a.activity_type = 'demo_request' and a.occurred_at < o.created_at)""",
        )
        == 0
    )


def test_intent_signal_separates_converters(demo: Demo) -> None:
    _, con = demo
    types = ", ".join(f"'{t}'" for t in DECISION)
    avg_with, avg_without = con.execute(f"""
        with d as (select contact_id, count(*) filter (where activity_type in ({types})) n
                   from activities group by 1),
             conv as (select distinct contact_id from opportunities)
        select avg(coalesce(n, 0)) filter (where c.contact_id in (select contact_id from conv)),
               avg(coalesce(n, 0)) filter (where c.contact_id not in
                   (select contact_id from conv where contact_id is not null))
        from contacts c left join d using (contact_id)""").fetchone()
    assert avg_with > 3 * avg_without


# ---------------------------------------------------------------------------- edge cases


@pytest.mark.parametrize(
    "kwargs",
    [
        {"contacts": 1},
        {"contacts": 60, "accounts": 1},
        {"contacts": 200, "days": 1},
        {"contacts": 200, "activities_per_contact": 0},
    ],
)
def test_tiny_and_degenerate_sizes_still_write_valid_landing_files(
    tmp_path: Path, kwargs: dict[str, int]
) -> None:
    summary = generate(tmp_path / "landing", end_date=END, **kwargs)
    con = duckdb.connect()
    for entity in ("accounts", "contacts", "opportunities"):
        path = tmp_path / "landing" / "crm" / f"{entity}.csv"
        assert path.read_text(encoding="utf-8").startswith(COLUMNS[entity][0])
        count = _one(con, f"select count(*) from {_read_csv(path)}")
        assert count == summary.rows[entity]
    assert summary.rows["contacts"] == kwargs["contacts"]
    if kwargs["contacts"] >= 50:  # a single huge account is not turned into a bot farm
        assert summary.planted["bot_activity"] <= 0.1 * max(summary.rows["activities"], 1)


def test_truth_path_inside_landing_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="outside the landing folder"):
        generate(tmp_path / "landing", contacts=50, truth_path=tmp_path / "landing" / "t.parquet")


# ---------------------------------------------------------------------------- parquet, no dirt


def test_parquet_without_dirt(tmp_path: Path) -> None:
    summary = generate(
        tmp_path / "landing",
        contacts=500,
        end_date=END,
        file_format="parquet",
        dirt=False,
        activities_per_contact=12,
        days=90,
    )
    land = tmp_path / "landing"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for entity in ("accounts", "contacts", "opportunities"):
        path = land / "crm" / f"{entity}.parquet"
        desc = con.execute(f"describe select * from '{path}'").fetchall()
        assert [d[0] for d in desc] == COLUMNS[entity]
    desc = {
        d[0]: d[1]
        for d in con.execute(
            f"describe select * from '{land}/marketing/activities_*.parquet'"
        ).fetchall()
    }
    assert list(desc) == COLUMNS["activities"]
    assert desc["occurred_at"] == "TIMESTAMP"
    lo, hi = con.execute(f"""select min(occurred_at), max(occurred_at)
        from '{land}/marketing/activities_*.parquet'""").fetchone()
    assert lo >= END_EXCL - dt.timedelta(days=90) and hi < END_EXCL
    types = {
        d[0]: d[1]
        for d in con.execute(f"""describe select * from
        '{land}/crm/opportunities.parquet'""").fetchall()
    }
    assert types["is_won"] == "BOOLEAN"
    assert all(v == 0 for v in summary.planted.values())
    assert con.execute(f"select count(*) from '{summary.truth_path}'").fetchone()[0] == 0
    unknown = con.execute(f"""select count(*) from '{land}/marketing/activities_*.parquet'
        where activity_type not in ({", ".join(f"'{t}'" for t in ACTIVITY_TYPES)})""")
    assert unknown.fetchone()[0] == 0
    assert summary.rows["contacts"] == 500 and summary.file_format == "parquet"
