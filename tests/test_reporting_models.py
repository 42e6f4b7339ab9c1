"""Reporting marts end to end: account_scores and score_performance built by the
real dbt from hand-built upstream tables (lead_score_history, mql_handoffs and
the raw CRM tables behind the staging views) in a temporary warehouse. The
formulas themselves are pinned by the dbt unit tests in the models' YAML,
which these builds run too."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable
from decimal import Decimal

import pytest

from orchestration.resources import connect
from orchestration.settings import Settings

D = dt.date(2026, 6, 30)
REPORTING_NODES = (
    "reporting_score_bands",
    "stg_crm__accounts",
    "stg_crm__opportunities",
    "int_reporting__score_deciles",
    "int_reporting__score_outcomes",
    "account_scores",
    "score_performance",
)

#: (contact_id, model_id, score_date, account_id, fit_score, engagement_score, stage, quarantined)
HistoryRow = tuple[str, str, dt.date, str | None, float, float, str, bool]


def days(n: int) -> str:
    """A timestamp n days after the score date D (negative: before)."""
    return f"{D + dt.timedelta(days=n)} 12:00:00"


def write_upstream(
    settings: Settings,
    history: Iterable[HistoryRow],
    opportunities: Iterable[tuple[str, str, str | None, bool, str]] = (),
) -> None:
    """(Re)create the tables the reporting models read, as the scoring marts and
    ingestion would leave them."""
    history = list(history)
    con = connect(settings.warehouse_path)
    try:
        con.execute("create schema if not exists raw")
        con.execute("create schema if not exists marts")
        accounts = sorted({row[3] for row in history if row[3]})
        con.execute(
            "create or replace table raw.crm_accounts (account_id varchar, account_name varchar)"
        )
        con.executemany(
            "insert into raw.crm_accounts values (?, ?)", [(a, f"Account {a}") for a in accounts]
        )
        con.execute(
            "create or replace table raw.crm_opportunities (opportunity_id varchar, "
            "account_id varchar, contact_id varchar, is_won boolean, created_at timestamp)"
        )
        opportunities = list(opportunities)
        if opportunities:
            con.executemany(
                "insert into raw.crm_opportunities values (?, ?, ?, ?, ?)", opportunities
            )
        con.execute(
            "create or replace table marts.lead_score_history (contact_id varchar, "
            "model_id varchar, score_date date, account_id varchar, segment varchar, "
            "fit_score decimal(18, 2), "
            "engagement_score decimal(18, 2), score decimal(18, 2), fit_grade varchar, "
            "engagement_level varchar, matrix_cell varchar, stage varchar, warm_at decimal(18, 2), "
            "mql_at decimal(18, 2), is_quarantined boolean, top_reasons varchar)"
        )
        con.executemany(
            "insert into marts.lead_score_history values "
            "(?, ?, ?, ?, 'smb', ?, ?, ?, 'B', '2', 'B2', ?, 40, 80, ?, 'test')",
            [
                (c, m, d, a, fit, eng, fit + eng, stage, q)
                for c, m, d, a, fit, eng, stage, q in history
            ],
        )
        # The hand-offs: mql on a date, not mql on the model's previous date.
        con.execute(
            """
            create or replace table marts.mql_handoffs as
            select h.contact_id, h.model_id, h.score_date, h.score, h.mql_at, h.top_reasons
            from marts.lead_score_history as h
            where h.stage = 'mql' and not exists (
                select 1 from marts.lead_score_history as p
                where p.contact_id = h.contact_id and p.model_id = h.model_id
                  and p.stage = 'mql'
                  and p.score_date = (
                      select max(x.score_date) from marts.lead_score_history as x
                      where x.model_id = h.model_id and x.score_date < h.score_date))
            """
        )
    finally:
        con.close()


def query(settings: Settings, sql: str) -> list[tuple]:
    con = connect(settings.warehouse_path, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def performance(settings: Settings, model_id: str) -> dict[str, dict]:
    con = connect(settings.warehouse_path, read_only=True)
    try:
        cursor = con.execute(
            "select * from marts.score_performance where model_id = ? order by band_order",
            [model_id],
        )
        names = [c[0] for c in cursor.description]
        return {
            row[names.index("band")]: dict(zip(names, row, strict=True))
            for row in cursor.fetchall()
        }
    finally:
        con.close()


def twenty_contacts(score_date: dt.date = D) -> list[HistoryRow]:
    """k01..k20 scoring 5, 10, ..., 100 (two per decile); k17-k20 are mql, k11-k16
    warm, k10 quarantined, the rest cold. k19 and k20 share an account."""
    rows = []
    for i in range(1, 21):
        stage = "mql" if i >= 17 else "warm" if i >= 11 else "disqualified" if i == 10 else "cold"
        account = "a19" if i == 20 else f"a{i:02d}"
        rows.append((f"k{i:02d}", "m", score_date, account, 0.0, 5.0 * i, stage, i == 10))
    return rows


OPPORTUNITIES = [
    ("o1", "a19", "k20", True, days(10)),  # after D, won
    ("o2", "a19", "k19", False, days(-30)),  # before D, inside the look-back
    ("o3", "a17", "k17", False, days(100)),  # after the window
    ("o4", "a12", None, False, days(45)),  # no contact: counts for the account's contacts (k12)
    ("o5", "a03", "k03", False, days(5)),
    ("o6", "a10", "k10", False, days(20)),  # a quarantined contact converts too
    ("o7", "a05", "k05", True, days(-200)),  # long before D
    ("o8", "a99", "x99", True, days(1)),  # a contact never scored
]


def build(run_dbt: Callable, score_date: dt.date, *nodes: str, command: str = "build") -> None:
    """The score date goes through the environment, as the orchestrator passes it:
    a new `--vars` each call would make dbt re-parse the whole project."""
    saved = os.environ.get("LEADSCORE_SCORE_DATE")
    os.environ["LEADSCORE_SCORE_DATE"] = str(score_date)
    try:
        run_dbt(command, "--select", *(nodes or REPORTING_NODES))
    finally:
        if saved is None:
            del os.environ["LEADSCORE_SCORE_DATE"]
        else:
            os.environ["LEADSCORE_SCORE_DATE"] = saved


def test_single_score_date_gives_meaningful_conversion_by_band(settings: Settings, run_dbt):
    """One score date, opportunities before and after it: the top decile converts
    at 4x the base rate; MQL -> opportunity counts only what came after the hand-off."""
    write_upstream(settings, twenty_contacts(), OPPORTUNITIES)
    build(run_dbt, D)

    bands = performance(settings, "m")
    assert list(bands) == [
        *(str(d) for d in range(10, 0, -1)),
        "mql",
        "warm",
        "cold",
        "disqualified",
    ]
    # Converted: k20 (won), k19, k12 (via its account), k03, k10 -> 5 of 20.
    top = bands["10"]
    assert (top["contacts"], top["converted_to_opportunity"], top["converted_to_won"]) == (2, 2, 1)
    assert top["base_opportunity_rate"] == Decimal("0.2500")
    assert top["base_won_rate"] == Decimal("0.0500")
    assert top["opportunity_rate"] == Decimal("1.0000")
    assert top["opportunity_lift"] == Decimal("4.0000")
    assert top["won_lift"] == Decimal("10.0000")
    assert (top["min_score"], top["max_score"]) == (Decimal("95.00"), Decimal("100.00"))
    assert bands["9"]["converted_to_opportunity"] == 0  # k17's opportunity is outside the window
    assert bands["9"]["opportunity_lift"] == Decimal("0.0000")
    for decile in ("6", "5", "2"):  # k12, k10, k03
        assert bands[decile]["opportunity_lift"] == Decimal("2.0000"), decile
    assert bands["3"]["converted_to_opportunity"] == 0  # k05's opportunity is 200 days old

    mql = bands["mql"]
    assert (mql["contacts"], mql["converted_to_opportunity"], mql["opportunity_lift"]) == (
        4,
        2,
        Decimal("2.0000"),
    )
    # Hand-offs k17..k20; only k20's opportunity follows its hand-off within 90 days.
    assert (mql["handoffs"], mql["handoffs_converted"]) == (4, 1)
    assert mql["mql_to_opportunity_rate"] == Decimal("0.2500")
    assert mql["median_days_to_opportunity"] == Decimal("10.0000")
    assert bands["warm"]["opportunity_rate"] == Decimal("0.1667")
    assert bands["cold"]["opportunity_rate"] == Decimal("0.1111")
    assert bands["disqualified"]["converted_to_opportunity"] == 1
    assert all(bands[b]["handoffs"] is None for b in bands if b != "mql")

    assert {
        (b["cohort_first_score_date"], b["cohort_last_score_date"], b["cohort_score_dates"])
        for b in bands.values()
    } == {(D, D, 1)}
    assert {
        (b["conversion_lookback_days"], b["conversion_window_days"]) for b in bands.values()
    } == {(90, 90)}
    # One score date, its forward window still open: nothing is final yet.
    assert top["window_complete_through"] is None
    assert (top["contacts_window_complete"], top["converted_window_complete"]) == (0, 0)

    # The account roll-up of the same date: k19 and k20 share a19; k10 is quarantined.
    assert query(
        settings,
        "select account_score, engaged_contacts, best_contact_id, scored_contacts, mql_contacts "
        "from marts.account_scores where account_id = 'a19'",
    ) == [(Decimal("195.00"), 2, "k20", 2, 2)]
    assert query(
        settings, "select count(*) from marts.account_scores where account_id = 'a10'"
    ) == [(0,)]
    assert query(
        settings, "select count(*), count(distinct score_date) from marts.account_scores"
    ) == [(18, 1)]


def test_strictly_predictive_window_is_a_variable(settings: Settings, run_dbt):
    """conversion_lookback_days 0: opportunities before the score date no longer count."""
    write_upstream(settings, twenty_contacts(), OPPORTUNITIES)
    run_dbt(
        "build",
        "--select",
        *REPORTING_NODES,
        "--exclude",
        "account_scores",
        "--vars",
        f"{{score_date: '{D}', conversion_lookback_days: 0, conversion_window_days: 30}}",
    )
    bands = performance(settings, "m")
    # Within 30 days after D: k20 (+10), k03 (+5), k10 (+20); k19's is before, k12's at +45.
    assert bands["10"]["converted_to_opportunity"] == 1
    assert bands["10"]["base_opportunity_rate"] == Decimal("0.1500")
    assert bands["10"]["conversion_lookback_days"] == 0
    assert bands["10"]["conversion_window_days"] == 30


def test_bad_window_variable_fails_the_build_with_its_name(settings: Settings, run_dbt):
    write_upstream(settings, twenty_contacts(), OPPORTUNITIES)
    result = run_dbt(
        "build",
        "--select",
        *REPORTING_NODES,
        "--vars",
        f"{{score_date: '{D}', conversion_window_days: 'ninety'}}",
        check=False,
    )
    assert result.returncode != 0
    assert "conversion_window_days must be a whole number of days" in result.stdout


def test_account_scores_rebuild_one_date_per_run(settings: Settings, run_dbt):
    """A first build rolls up every date of history; an incremental run replaces its
    own date (a backfill), including accounts that vanished from that date, and the
    next scored date, whose change now compares with the rescored date."""
    d1, d2 = D - dt.timedelta(days=1), D
    history = [
        ("c1", "m", d1, "a1", 10.0, 20.0, "cold", False),
        ("c2", "m", d1, "a2", 5.0, 5.0, "cold", False),
        ("c1", "m", d2, "a1", 10.0, 50.0, "warm", False),
        ("c2", "m", d2, "a2", 5.0, 15.0, "cold", False),
    ]
    write_upstream(settings, history)
    build(run_dbt, d2)
    assert query(
        settings,
        "select account_id, score_date, account_score, account_score_change "
        "from marts.account_scores order by score_date, account_id",
    ) == [
        ("a1", d1, Decimal("30.00"), None),
        ("a2", d1, Decimal("10.00"), None),
        ("a1", d2, Decimal("60.00"), Decimal("30.00")),
        ("a2", d2, Decimal("20.00"), Decimal("10.00")),
    ]

    # Rescore d1: c1 more engaged, c2 now quarantined (a2 has no eligible contact).
    history[0] = ("c1", "m", d1, "a1", 10.0, 25.0, "cold", False)
    history[1] = ("c2", "m", d1, "a2", 5.0, 5.0, "disqualified", True)
    write_upstream(settings, history)
    build(run_dbt, d1, "account_scores", command="run")
    assert query(
        settings,
        "select account_id, score_date, account_score, account_score_change "
        "from marts.account_scores order by score_date, account_id",
    ) == [
        ("a1", d1, Decimal("35.00"), None),
        # d2, the next scored date, is rebuilt by the run for d1: its change
        # compares with the rescored d1 (a2 had no eligible contact then).
        ("a1", d2, Decimal("60.00"), Decimal("25.00")),
        ("a2", d2, Decimal("20.00"), None),
    ]


def test_account_scores_change_reads_the_stored_previous_date(settings: Settings, run_dbt):
    """A daily run ranks its own date only: the previous date's roll-up comes from
    the table (a marker planted there shows up in the change); a previous date the
    table does not hold is rolled up from history in the same run."""
    d1, d2 = D - dt.timedelta(days=1), D
    history = [
        ("c1", "m", d1, "a1", 10.0, 20.0, "cold", False),
        ("c2", "m", d1, "a2", 5.0, 5.0, "cold", False),
        ("c1", "n", d1, "a1", 0.0, 8.0, "cold", False),
    ]
    write_upstream(settings, history)
    build(run_dbt, d1)
    con = connect(settings.warehouse_path)
    try:  # the marker: a stored roll-up that history does not give
        con.execute(
            "update marts.account_scores set account_score = 100 "
            "where account_id = 'a1' and model_id = 'm'"
        )
        # model n's previous date is missing from the table
        con.execute("delete from marts.account_scores where model_id = 'n'")
    finally:
        con.close()

    history += [
        ("c1", "m", d2, "a1", 10.0, 50.0, "warm", False),
        ("c2", "m", d2, "a2", 5.0, 15.0, "cold", False),
        ("c1", "n", d2, "a1", 0.0, 12.0, "cold", False),
    ]
    write_upstream(settings, history)
    build(run_dbt, d2, "account_scores", command="run")
    assert query(
        settings,
        "select model_id, account_id, account_score, previous_score_date, account_score_change "
        "from marts.account_scores where score_date = '" + d2.isoformat() + "' order by all",
    ) == [
        ("m", "a1", Decimal("60.00"), d1, Decimal("-40.00")),  # 60 - the stored 100
        ("m", "a2", Decimal("20.00"), d1, Decimal("10.00")),
        ("n", "a1", Decimal("12.00"), d1, Decimal("4.00")),  # 12 - 8 rolled up from history
    ]
    # the previous date computed for the change is not written (only D is)
    assert query(settings, "select count(*) from marts.account_scores where model_id = 'n'") == [
        (1,)
    ]

    # --full-refresh rolls every date up from history: the planted row is gone
    saved = os.environ.get("LEADSCORE_SCORE_DATE")
    os.environ["LEADSCORE_SCORE_DATE"] = str(d2)
    try:
        run_dbt("run", "--select", "account_scores", "--full-refresh")
    finally:
        if saved is None:
            del os.environ["LEADSCORE_SCORE_DATE"]
        else:
            os.environ["LEADSCORE_SCORE_DATE"] = saved
    assert query(
        settings,
        "select model_id, account_id, score_date, account_score, account_score_change "
        "from marts.account_scores where account_id = 'a1' order by all",
    ) == [
        ("m", "a1", d1, Decimal("30.00"), None),
        ("m", "a1", d2, Decimal("60.00"), Decimal("30.00")),
        ("n", "a1", d1, Decimal("8.00"), None),
        ("n", "a1", d2, Decimal("12.00"), Decimal("4.00")),
    ]


def test_score_deciles_compute_only_new_and_rescored_dates(settings: Settings, run_dbt):
    """The per-date cohort table is incremental: a run computes its own date and
    any date missing from it, drops dates history lost, and score_performance
    equals a full rebuild."""
    d1, d2, d3 = (D - dt.timedelta(days=n) for n in (2, 1, 0))

    def day(when: dt.date, engagement: float) -> list[HistoryRow]:
        return [
            ("c1", "m", when, "a1", 10.0, engagement, "cold", False),
            ("c2", "m", when, "a2", 5.0, 30.0, "cold", False),
        ]

    def deciles() -> list[tuple]:
        return query(
            settings,
            "select score_date, contact_id, score_decile "
            "from intermediate.int_reporting__score_deciles order by all",
        )

    # `dbt run` between the first and last builds: the tests are not the point here
    nodes = tuple(node for node in REPORTING_NODES if node != "account_scores")
    write_upstream(settings, [*day(d1, 50.0), *day(d2, 50.0)])
    build(run_dbt, d2, *nodes)  # first build: every date of history
    assert deciles() == [(d1, "c1", 10), (d1, "c2", 5), (d2, "c1", 10), (d2, "c2", 5)]

    # d1 changes in history but is not rebuilt; d3 is new: only d3 is computed.
    write_upstream(settings, [*day(d1, 0.0), *day(d2, 50.0), *day(d3, 0.0)])
    build(run_dbt, d3, *nodes, command="run")
    assert deciles() == [
        (d1, "c1", 10),
        (d1, "c2", 5),
        (d2, "c1", 10),
        (d2, "c2", 5),
        (d3, "c1", 5),
        (d3, "c2", 10),
    ]
    # Re-scoring d1 replaces d1.
    build(run_dbt, d1, *nodes, command="run")
    assert deciles()[:2] == [(d1, "c1", 5), (d1, "c2", 10)]
    # d2 gone from history (e.g. a full refresh of it): dropped here too.
    write_upstream(settings, [*day(d1, 0.0), *day(d3, 0.0)])
    build(run_dbt, d3, *nodes)
    assert [row[0] for row in deciles()] == [d1, d1, d3, d3]

    incremental = query(settings, "select * from marts.score_performance order by all")
    run_dbt("run", "--select", *nodes, "--full-refresh", "--vars", f"{{score_date: '{d3}'}}")
    assert query(settings, "select * from marts.score_performance order by all") == incremental


def test_date_filtered_tests_check_the_run_date_without_reparsing(
    settings: Settings, run_dbt, monkeypatch: pytest.MonkeyPatch
):
    """A test's `where` names the date as __score_date__ (macros/where_subquery.sql):
    the date of the run replaces it when the test runs, so a new date re-parses
    no file, and the test sees that date's rows only."""
    d1, d2 = D - dt.timedelta(days=1), D
    write_upstream(settings, [*twenty_contacts(d1), *twenty_contacts(d2)])
    build(run_dbt, d1, "reporting_score_bands", "int_reporting__score_deciles")
    con = connect(settings.warehouse_path)
    try:
        con.execute(
            "insert into intermediate.int_reporting__score_deciles "
            "select * from intermediate.int_reporting__score_deciles "
            "where contact_id = 'k01' and score_date = ?",
            [d1],
        )
    finally:
        con.close()
    tests = ("test", "--select", "int_reporting__score_deciles", "--exclude", "test_type:unit")

    # d2 sees no duplicate (d1's is outside its filter), and nothing was re-parsed
    monkeypatch.setenv("LEADSCORE_SCORE_DATE", str(d2))
    result = run_dbt(*tests, "--log-level", "debug")
    assert "no changes found, skipping parsing" in result.stdout
    target = settings.warehouse_path.parent / "dbt_target"
    compiled = "".join(
        path.read_text() for path in target.glob("compiled/**/unique_per_int_reporting__scor*.sql")
    )
    assert f"score_date = cast('{d2}' as date)" in compiled
    assert "__score_date__" not in compiled

    # d1 sees it: the test fails on the date it checks
    monkeypatch.setenv("LEADSCORE_SCORE_DATE", str(d1))
    result = run_dbt(*tests, check=False)
    assert result.returncode != 0
    assert "FAIL 1 unique_per_int_reporting__score_deciles" in result.stdout


@pytest.mark.parametrize("node", ["account_scores", "score_performance"])
def test_published_reporting_marts_have_enforced_contracts(node: str):
    """Every column of the published reporting marts is typed and described."""
    import yaml

    from orchestration.settings import DBT_PROJECT_DIR

    spec = yaml.safe_load(
        (DBT_PROJECT_DIR / "models" / "marts" / "reporting" / f"{node}.yml").read_text()
    )
    (model,) = [m for m in spec["models"] if m["name"] == node]
    assert model["config"]["contract"]["enforced"] is True
    assert model["description"].strip()
    for column in model["columns"]:
        assert column.get("data_type"), column["name"]
        assert column.get("description", "").strip(), column["name"]
