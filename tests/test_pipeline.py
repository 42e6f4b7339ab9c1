"""End to end through the real CLI -> Dagster job -> dbt -> publish, on small data.

These are the slowest tests (each `leadscore run` is a full Dagster run with a
dbt build), so each one asserts as much as it can per run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.cli import main
from orchestration.dbt_runner import DbtCommandFailed, dbt_command
from orchestration.publish import PublishRefused, publish
from orchestration.settings import Settings

SCORE_DATE = "2026-03-31"

LEAD_SCORES_COLUMNS = [
    "contact_id",
    "model_id",
    "score_date",
    "account_id",
    "segment",
    "fit_score",
    "engagement_score",
    "score",
    "fit_grade",
    "engagement_level",
    "matrix_cell",
    "stage",
    "warm_at",
    "mql_at",
    "is_quarantined",
    "top_reasons",
]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def published(settings: Settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.publish_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def columns(settings: Settings, table: str) -> list[str]:
    return [
        row[0]
        for row in published(
            settings,
            f"select column_name from information_schema.columns where table_name = '{table}' "
            "order by ordinal_position",
        )
    ]


@pytest.fixture
def sample_landing(settings: Settings) -> Path:
    from orchestration.demo_data import generate

    generate(
        settings.landing_dir,
        contacts=300,
        seed=7,
        end_date=dt.date.fromisoformat(SCORE_DATE),
    )
    return settings.landing_dir


def assert_published_equals_warehouse(con: duckdb.DuckDBPyConnection, tables: list[str]) -> None:
    """Every table of the published file (main) holds exactly the warehouse's
    marts rows (attached as `warehouse`), duplicates included."""
    for table in tables:
        for left, right in (("main", "warehouse.marts"), ("warehouse.marts", "main")):
            extra = con.execute(
                f"select count(*) from (select * from {left}.{table} "
                f"except all select * from {right}.{table})"
            ).fetchone()[0]
            assert extra == 0, (table, left)


def assert_flagged_since(con: duckdb.DuckDBPyConnection, first_date: str) -> None:
    """Every published contact flag is dated from `first_date`, the first date
    scored, or from its contact's creation if later (the sample's flags do not
    change between dates)."""
    flagged_at = con.execute(
        "select cast(f.flagged_at as date) = greatest(cast(? as date), cast(c.created_at as date)) "
        "from contact_quality_flags as f "
        "join warehouse.staging.stg_crm__contacts as c using (contact_id)",
        [first_date],
    ).fetchall()
    assert len(flagged_at) > 10
    assert set(flagged_at) == {(True,)}


def test_daily_run_publishes_the_bi_contract_and_blocks_bad_batches(
    settings: Settings,
    sample_landing: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
):
    assert main(["run", "--date", SCORE_DATE]) == 0
    out, err = capsys.readouterr()
    assert f"leadscore: {SCORE_DATE} OK" in out
    assert "contacts scored" in out
    assert "Running with dbt=" in out  # dagster-dbt echoes dbt's log
    # every singular dbt test attached to an asset (a check, not an observation;
    # dagster-dbt logs it, see also test_the_job_resolves_without_warnings)
    assert "singular test with multiple dependencies" not in err

    # The BI contract (SPEC section 6): table names and key columns.
    tables = {row[0] for row in published(settings, "select table_name from duckdb_tables()")}
    assert {
        "lead_scores",
        "lead_score_components",
        "lead_score_history",
        "mql_handoffs",
        "contact_quality_flags",
        "activity_quality_flags",
    } <= tables
    assert columns(settings, "lead_scores")[: len(LEAD_SCORES_COLUMNS)] == LEAD_SCORES_COLUMNS
    assert columns(settings, "lead_score_history")[: len(LEAD_SCORES_COLUMNS)] == (
        LEAD_SCORES_COLUMNS
    )
    scored = published(
        settings,
        "select count(distinct contact_id), count(distinct model_id), "
        "count(*) filter (where stage = 'mql'), min(cast(score_date as varchar)) "
        "from lead_scores",
    )[0]
    assert scored[0] > 250 and scored[1] >= 2 and scored[2] > 0
    assert scored[3] == SCORE_DATE
    # Quarantined contacts are visible, disqualified, and never handed off.
    assert published(
        settings,
        "select count(*) from lead_scores where is_quarantined and stage <> 'disqualified'",
    ) == [(0,)]
    assert published(
        settings,
        "select count(*) from mql_handoffs as h join lead_scores as s "
        "using (contact_id, model_id) where s.is_quarantined",
    ) == [(0,)]
    # Components sum to the score for every contact and model.
    assert published(
        settings,
        """
        select count(*) from lead_scores as s
        left join (
            select contact_id, model_id, sum(points) as points
            from lead_score_components group by all
        ) as c using (contact_id, model_id)
        where abs(coalesce(c.points, 0) - s.score) > 0.001
        """,
    ) == [(0,)]
    # Parquet copies for file-based BI tools.
    assert (settings.export_dir / "lead_scores.parquet").exists()
    # The batch checks found every raw id unique through the last load, before
    # dbt ran: its uniqueness test on the activity ids did not group them again.
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        assert con.execute(
            "select entity, column_name from audit.verified_unique order by entity"
        ).fetchall() == [
            ("crm_accounts", "account_id"),
            ("crm_contacts", "contact_id"),
            ("crm_opportunities", "opportunity_id"),
            ("marketing_activities", "activity_id"),
        ]
        assert con.execute(
            "select load_id = (select max(_load_id) from raw.marketing_activities) "
            "from audit.verified_unique where entity = 'marketing_activities'"
        ).fetchall() == [(True,)]
    finally:
        con.close()

    good = sha256(settings.publish_path)

    # A batch with a duplicate id in a file is rejected: the run fails loudly,
    # names the file, row and column, and the published file is untouched.
    bad = settings.landing_dir / "marketing" / "activities_zz_bad.csv"
    bad.write_text(
        "activity_id,contact_id,activity_type,occurred_at\n"
        "BAD1,C0000001,page_view,2026-03-30T10:00:00Z\n"
        "BAD1,C0000001,page_view,2026-03-30T11:00:00Z\n"
    )
    assert main(["run", "--date", SCORE_DATE]) == 1
    err = capsys.readouterr().err
    assert "FAILED" in err and "published tables were left untouched" in err
    assert "marketing/activities_zz_bad.csv, row 2, column 'activity_id'" in err
    # the rejected file nests under its step in the summary
    assert "\n  - step raw__marketing_activities failed: 1 file(s) of marketing_activities " in err
    assert "\n      - marketing/activities_zz_bad.csv, row 2, column 'activity_id'" in err
    assert sha256(settings.publish_path) == good
    assert bad.exists()

    # A missing required column: same.
    bad.write_text("activity_id,contact_id,occurred_at\nBAD2,C0000001,2026-03-30\n")
    assert main(["run", "--date", SCORE_DATE]) == 1
    assert "missing required column(s) ['activity_type']" in capsys.readouterr().err
    assert sha256(settings.publish_path) == good

    # A row that loads but fails a blocking batch check (a timestamp in the
    # future): the message names the check and the failing rows.
    bad.write_text(
        "activity_id,contact_id,activity_type,occurred_at\n"
        "BAD3,C0000001,page_view,2099-01-01T00:00:00Z\n"
    )
    assert main(["run", "--date", SCORE_DATE, "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "occurred_at_not_in_future FAILED: 1 failing row(s)" in err
    assert "BAD3 (marketing/activities_zz_bad.csv row 1, occurred_at='2099-01-01 00:00:00')" in err
    assert "all in audit.check_failures" in err
    # named once: not again as the step the blocking check stopped
    summary = [line for line in err.splitlines() if line.startswith("  - ")]
    assert len(summary) == 1 and "occurred_at_not_in_future" in summary[0], err
    assert sha256(settings.publish_path) == good

    # Fixed file (the row re-delivered with its real time): the next run
    # succeeds and publishes again. The file is then dropped; its rows stay
    # (test_ingest covers removed files), and the runs below load without it.
    bad.write_text(
        "activity_id,contact_id,activity_type,occurred_at\n"
        "BAD3,C0000001,page_view,2026-03-30T09:00:00Z\n"
    )
    assert main(["run", "--date", SCORE_DATE]) == 0
    assert sha256(settings.publish_path) != good
    bad.unlink()

    # A truncated CRM export (20 of 300 contacts): the table keeps its rows
    # (deliveries are upserts), but the delivery collapsed: blocked, named.
    good = sha256(settings.publish_path)
    contacts = settings.landing_dir / "crm" / "contacts.csv"
    full_export = contacts.read_bytes()
    contacts.write_text("\n".join(contacts.read_text().splitlines()[:21]) + "\n")
    assert main(["run", "--date", SCORE_DATE]) == 1
    err = capsys.readouterr().err
    assert "crm_contacts.delivery_not_collapsed FAILED" in err
    assert "e.g. crm/contacts.csv: 20 rows, at least 150 expected" in err
    assert "published tables were left untouched" in err
    assert sha256(settings.publish_path) == good
    # The whole export again (the next run passes), plus a contact created on
    # the next day with a disposable address: its flag dates from that day,
    # also after the backfill of an earlier date below.
    next_day = (dt.date.fromisoformat(SCORE_DATE) + dt.timedelta(days=1)).isoformat()
    late_contact = f"C9999999,late.lead@mailinator.com,{next_day}T09:00:00Z,,Late,Lead,,,US,web,,"
    contacts.write_bytes(full_export.rstrip(b"\n") + f"\n{late_contact}\n".encode())

    # The next day publishes only its dates of the history tables; what BI
    # reads is still exactly the warehouse's marts, in the file and in Parquet.
    # a second contacts file is not loaded (crm/contacts.* is one file): said, not silent
    stray = settings.landing_dir / "crm" / "contacts_2.csv"
    stray.write_bytes(contacts.read_bytes())
    # a publish that stands but could not remove an old copy says so in the summary
    import orchestration.publish as publish_module

    sweep = publish_module._sweep
    stuck = "could not remove old copy published.duckdb.old-x: [Errno 13] Permission denied"
    monkeypatch.setattr(publish_module, "_sweep", lambda *a, **k: [*sweep(*a, **k), stuck])
    capsys.readouterr()
    assert main(["run", "--quiet", "--date", next_day]) == 0
    out, err = capsys.readouterr()
    monkeypatch.setattr(publish_module, "_sweep", sweep)
    stray.unlink()
    assert f"leadscore: warning: publish: {stuck}" in err.splitlines()
    # --quiet: each warning once, from the summary (not again as Dagster's log line)
    assert err.splitlines() == [x for x in err.splitlines() if x.startswith("leadscore: ")], err
    assert (
        "leadscore: warning: landing file crm/contacts_2.csv was not loaded: it matches none of "
        "crm/accounts.*, crm/contacts.*, crm/opportunities.*, marketing/activities*.*"
    ) in err
    # --quiet: the summary (and warnings) only; dbt's log stays in its run folder
    assert out.splitlines() == [line for line in out.splitlines() if line.startswith("leadscore: ")]
    assert f"leadscore: {next_day} OK" in out and "Running with dbt=" not in out
    assert "rebuilt against it" not in out  # the latest date: nothing after it
    assert " - INFO - " not in err
    # The demo's activities of unknown contacts are under the referential
    # integrity limit: the check passes, and the summary still names them.
    (orphans,) = [
        line
        for line in err.splitlines()
        if line.startswith(
            "leadscore: warning: check raw/marketing_activities:contact_id_references_contacts "
            "passed within its threshold: "
        )
    ]
    assert "failing row(s)" in orphans and "contact_id='C" in orphans, orphans
    assert orphans.endswith("; all in audit.check_failures"), orphans
    con = duckdb.connect(str(settings.publish_path), read_only=True)
    try:
        con.execute(f"attach '{settings.warehouse_path}' as warehouse (read_only)")
        tables = [
            row[0]
            for row in con.execute(
                "select table_name from duckdb_tables() "
                "where database_name = 'warehouse' and schema_name = 'marts'"
            ).fetchall()
        ]
        assert "lead_score_history" in tables
        assert_published_equals_warehouse(con, tables)
        assert con.execute(
            "select count(distinct score_date) from lead_score_history"
        ).fetchone() == (2,)
        # dbt records every invocation itself (on-run-end), which publishing reads.
        runs = con.execute(
            "select distinct cast(score_date as varchar), is_full_refresh "
            "from warehouse.audit.dbt_runs where models like '%lead_score_history%'"
        ).fetchall()
        assert set(runs) == {(SCORE_DATE, False), (next_day, False)}
        # A flag still raised the next day dates from the day it was first raised.
        assert_flagged_since(con, SCORE_DATE)
        assert con.execute(
            "select cast(flagged_at as date) from contact_quality_flags "
            "where contact_id = 'C9999999'"
        ).fetchall() == [(dt.date.fromisoformat(next_day),)]
        exported = con.execute(
            "select * exclude (score_date), cast(score_date as date) from read_parquet("
            f"'{settings.export_dir}/lead_score_history/*/*.parquet', hive_partitioning = true) "
            "except all select * exclude (score_date), score_date from lead_score_history"
        ).fetchall()
        assert exported == []
        assert (
            con.execute(
                "select count(*) from read_parquet("
                f"'{settings.export_dir}/lead_score_history/*/*.parquet')"
            ).fetchone()
            == con.execute("select count(*) from lead_score_history").fetchone()
        )
    finally:
        con.close()

    # A backfill of the day before, after go-live: SCORE_DATE's hand-offs and
    # account changes now compare with it, so that run rebuilds SCORE_DATE in
    # them too (and records it for publishing); nothing is handed off twice.
    day_before = (dt.date.fromisoformat(SCORE_DATE) - dt.timedelta(days=1)).isoformat()
    capsys.readouterr()
    assert main(["backfill", "--quiet", "--start", day_before, "--end", day_before]) == 0
    out = capsys.readouterr().out
    assert f"leadscore: {day_before} OK" in out
    assert f"; {SCORE_DATE}'s hand-offs rebuilt against it (" in out
    con = duckdb.connect(str(settings.publish_path), read_only=True)
    try:
        con.execute(f"attach '{settings.warehouse_path}' as warehouse (read_only)")
        assert_published_equals_warehouse(con, tables)
        became_mql = """
            select contact_id, model_id, score_date from lead_score_history as h
            where stage = 'mql' and not exists (
                select 1 from lead_score_history as p
                where p.contact_id = h.contact_id and p.model_id = h.model_id
                and p.stage = 'mql' and p.score_date = (
                    select max(score_date) from lead_score_history as q
                    where q.model_id = h.model_id and q.score_date < h.score_date))
        """
        handoffs = "select contact_id, model_id, score_date from mql_handoffs"
        assert con.execute(f"select count(*) from ({became_mql})").fetchone()[0] > 0
        for left, right in ((became_mql, handoffs), (handoffs, became_mql)):
            assert con.execute(f"select count(*) from ({left} except all {right})").fetchone() == (
                0,
            )
        # the Parquet export of the rebuilt date follows too
        for table in ("mql_handoffs", "account_scores"):
            exported = (
                "select * exclude (score_date), cast(score_date as date) as score_date "
                f"from read_parquet('{settings.export_dir}/{table}/*/*.parquet', "
                "hive_partitioning = true)"
            )
            in_file = f"select * exclude (score_date), score_date from {table}"
            for left, right in ((exported, in_file), (in_file, exported)):
                assert con.execute(
                    f"select count(*) from ({left} except all {right})"
                ).fetchone() == (0,), table
        assert con.execute(
            "select count(*) from account_scores "
            f"where score_date = '{SCORE_DATE}' and previous_score_date <> '{day_before}'"
        ).fetchone() == (0,)
        backfill_dates = con.execute(
            "select distinct cast(score_date as varchar) from warehouse.audit.dbt_runs "
            "where invocation_id = (select invocation_id from warehouse.audit.dbt_runs "
            "order by recorded_at desc limit 1)"
        ).fetchall()
        assert set(backfill_dates) == {(day_before,), (SCORE_DATE,)}
        # The flags stay those of the latest date (the contacts lead_scores
        # quarantines), now dated from the backfilled day.
        assert (
            con.execute(
                "select distinct contact_id from contact_quality_flags "
                "except select contact_id from lead_scores where is_quarantined"
            ).fetchall()
            == []
        )
        assert (
            con.execute(
                "select distinct contact_id from lead_scores where is_quarantined "
                "except select contact_id from contact_quality_flags"
            ).fetchall()
            == []
        )
        assert_flagged_since(con, day_before)
    finally:
        con.close()

    # An analyst's `dbt build` that fails half-way (here the quarantine-rate
    # test, after the models it checks were rebuilt) is recorded by dbt
    # itself; publishing refuses until an orchestrated build has run, even
    # when the publish asset is materialised by hand.
    before = hashlib.sha256(settings.publish_path.read_bytes()).hexdigest()
    strict = f"{{score_date: {SCORE_DATE}, quality_max_quarantine_rate: 0, "
    strict += "quality_quarantine_min_contacts: 1}"
    with pytest.raises(DbtCommandFailed):
        dbt_command(settings, "build", "--vars", strict)
    with pytest.raises(PublishRefused, match=r"after the last orchestrated build, had \d+ failed"):
        publish(settings)
    assert hashlib.sha256(settings.publish_path.read_bytes()).hexdigest() == before

    # A build of part of the project (one dbt asset materialised from the UI)
    # is not publishable, and the date it built is named at every later
    # publish until it is scored again: its other marts were not rebuilt.
    from dagster import AssetKey, DagsterInstance

    from orchestration.definitions import DAILY_JOB_NAME, defs

    with DagsterInstance.get() as instance:
        partial = defs.resolve_job_def(DAILY_JOB_NAME).execute_in_process(
            partition_key=day_before,
            instance=instance,
            asset_selection=[AssetKey(["marts", "lead_score_history"])],
            raise_on_error=False,
        )
    assert partial.success
    with pytest.raises(PublishRefused, match="only part of the project was built"):
        publish(settings)
    capsys.readouterr()
    assert main(["run", "--quiet", "--date", SCORE_DATE]) == 0
    assert hashlib.sha256(settings.publish_path.read_bytes()).hexdigest() != before
    err = capsys.readouterr().err
    assert f"leadscore: warning: publish: the last build of {day_before} (run " in err
    assert (
        f"may be missing or out of date; score it again: leadscore run --date {day_before}\n" in err
    )


def test_a_landing_set_without_rows_publishes_empty_scores(settings: Settings, tmp_path: Path):
    """SPEC 2: a file with a header and no rows is valid. A date with no contact
    yet publishes empty score tables and a report that says so; and should a step
    after the publish fail, the summary says the tables were published.

    Runs `leadscore` in its own process: Dagster's definitions read the
    settings once per process, and this test's paths differ from the module's
    other runs."""
    import os

    landing = settings.landing_dir
    (landing / "crm").mkdir(parents=True)
    (landing / "marketing").mkdir()
    (landing / "crm" / "accounts.csv").write_text("account_id,account_name\n")
    (landing / "crm" / "contacts.csv").write_text("contact_id,email,created_at\n")
    (landing / "marketing" / "activities.csv").write_text(
        "activity_id,contact_id,activity_type,occurred_at\n"
    )
    leadscore = Path(sys.executable).parent / "leadscore"

    def run(date: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(leadscore), "run", "--quiet", "--date", date],
            env={**os.environ, "LEADSCORE_SCHEDULE_ENABLED": "0"},
            capture_output=True,
            text=True,
            check=False,
        )

    first = run("2026-03-01")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "2026-03-01 OK" in first.stdout
    assert published(settings, "select count(*) from lead_scores") == [(0,)]
    reports = settings.publish_path.parent / "reports"
    assert (
        "No contact was scored on 2026-03-01"
        in (reports / "run_report_2026-03-01.html").read_text()
    )

    # The report step, the one step after the publish, cannot write its folder.
    (reports / "run_report_2026-03-02.html").mkdir()
    before = sha256(settings.publish_path)
    second = run("2026-03-02")
    assert second.returncode == 1, second.stdout[-3000:] + second.stderr[-3000:]
    err = second.stderr
    assert "2026-03-02 FAILED after" in err
    assert f"the tables were published to {settings.publish_path}, then a later step failed" in err
    assert "left untouched" not in err
    assert "step published__run_report failed" in err
    # --quiet: the failure by its root cause, without Dagster's tracebacks
    assert "Traceback" not in err and " - dagster - " not in err, err
    assert all(line.startswith(("leadscore: ", "  ")) for line in err.splitlines()), err
    assert sha256(settings.publish_path) != before
    (record,) = (settings.audit_dir / "run_failures.jsonl").read_text().splitlines()
    assert '"published": true' in record


def test_run_rejects_future_dates_and_bad_ranges(settings: Settings):
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    assert main(["run", "--date", tomorrow]) == 2
    assert main(["backfill", "--start", "2026-03-02", "--end", "2026-03-01"]) == 2


def test_dates_before_the_first_partition_get_a_message_not_a_traceback(settings: Settings, capsys):
    # Dagster's daily partitions start at LEADSCORE_PARTITIONS_START (default
    # 2024-01-01); an earlier date used to raise DagsterUnknownPartitionError.
    from orchestration.partitions import score_date_partitions

    first = score_date_partitions.start.date()
    day_before = (first - dt.timedelta(days=1)).isoformat()
    two_days_before = (first - dt.timedelta(days=2)).isoformat()
    assert main(["run", "--date", day_before]) == 2
    assert f"before the job's first score date {first}" in capsys.readouterr().err
    end = (first + dt.timedelta(days=1)).isoformat()
    assert main(["backfill", "--start", two_days_before, "--end", end]) == 2
    err = capsys.readouterr().err
    assert f"--start {two_days_before}" in err and "LEADSCORE_PARTITIONS_START" in err


def test_the_job_resolves_without_warnings():
    # Dagster warns (warnings.warn) when the job's assets have different backfill
    # policies. pytest captures such warnings itself, so a fresh interpreter
    # resolves the job with every warning shown.
    result = subprocess.run(
        [
            sys.executable,
            "-W",
            "always",
            "-c",
            "from orchestration.definitions import DAILY_JOB_NAME, defs; "
            "defs.resolve_job_def(DAILY_JOB_NAME)",
        ],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "BackfillPolic" not in result.stderr, result.stderr
    # (sqlglotrs, a dependency of a dependency, announces its own deprecation)
    warned = [line for line in result.stderr.splitlines() if "Warning:" in line]
    assert [line for line in warned if "sqlglotrs" not in line] == [], result.stderr


def test_definitions_load_every_asset_and_check():
    from dagster import AssetKey

    from orchestration.definitions import DAILY_JOB_NAME, defs

    repo = defs.get_repository_def()
    keys = set(repo.asset_graph.get_all_asset_keys())
    for expected in (
        ["raw", "crm_contacts"],
        ["raw", "marketing_activities"],
        ["staging", "stg_crm__contacts"],
        ["marts", "lead_scores"],
        ["published", "bi_file"],
    ):
        assert AssetKey(expected) in keys, expected
    # dbt sources map onto the ingestion assets: raw -> staging in one graph.
    staging = repo.asset_graph.get(AssetKey(["staging", "stg_crm__contacts"]))
    assert AssetKey(["raw", "crm_contacts"]) in staging.parent_keys
    assert defs.resolve_job_def(DAILY_JOB_NAME) is not None
    assert repo.asset_graph.asset_check_keys, "dbt tests and quality checks are asset checks"
