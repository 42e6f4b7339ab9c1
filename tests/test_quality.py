"""The quality gate's Python side: email syntax checks and the GX batch suites
(run in DuckDB as blocking Dagster asset checks). The dbt flag rules are in
test_quality_flags.py."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.metadata
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from dagster import AssetCheckSeverity, AssetKey, DagsterInstance, materialize

from orchestration import quality
from orchestration.assets.ingestion import ingestion_assets
from orchestration.ingest import load_landing
from orchestration.quality import (
    ENTITIES,
    VALIDATOR_VERSION,
    CheckOutcome,
    SuiteError,
    check_email,
    load_suite,
    quality_assets,
    quality_checks,
    read_suite_json,
    run_suite,
    update_email_checks,
)
from orchestration.resources import LeadscoreResource, connect
from orchestration.settings import Settings

NOW = dt.datetime(2026, 3, 31, 12, 0, 0)
PARTITION = "2026-03-31"


def write_csv(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_landing(
    landing: Path,
    contacts: int = 20,
    activities_per_contact: int = 5,
    contact_created_at: dict[int, str] | None = None,
    activity_overrides: dict[int, dict[str, str]] | None = None,
) -> None:
    """A small clean landing folder; overrides plant bad values by row number."""
    write_csv(
        landing / "crm" / "accounts.csv",
        [{"account_id": f"A{i}", "account_name": f"Account {i}"} for i in range(1, 4)],
    )
    write_csv(
        landing / "crm" / "contacts.csv",
        [
            {
                "contact_id": f"C{i:03d}",
                "email": f"person{i}@acme.com",
                "created_at": (contact_created_at or {}).get(i, "2026-01-01T09:00:00Z"),
                "account_id": f"A{1 + i % 3}",
            }
            for i in range(1, contacts + 1)
        ],
    )
    rows = []
    n = 0
    for i in range(1, contacts + 1):
        for j in range(activities_per_contact):
            n += 1
            row = {
                "activity_id": f"X{n:05d}",
                "contact_id": f"C{i:03d}",
                "activity_type": "page_view",
                "occurred_at": f"2026-03-{1 + j:02d}T10:00:00Z",
            }
            row.update((activity_overrides or {}).get(n, {}))
            rows.append(row)
    write_csv(landing / "marketing" / "activities_2026_03.csv", rows)


def outcomes_by_name(outcomes: list[CheckOutcome]) -> dict[str, CheckOutcome]:
    return {o.check_name: o for o in outcomes}


def run(settings: Settings, entity: str, run_id: str = "r1", **kwargs) -> dict[str, CheckOutcome]:
    con = connect(settings.warehouse_path)
    try:
        return outcomes_by_name(run_suite(con, entity, run_id=run_id, now=NOW, **kwargs))
    finally:
        con.close()


def query(settings: Settings, sql: str) -> list[tuple]:
    con = connect(settings.warehouse_path, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def execute(settings: Settings, sql: str) -> None:
    con = connect(settings.warehouse_path)
    try:
        con.execute(sql)
    finally:
        con.close()


# --------------------------------------------------------------------------------------
# Email syntax


@pytest.mark.parametrize(
    ("email", "valid", "domain", "registrable"),
    [
        ("jane@acme.com", True, "acme.com", "acme.com"),
        ("jane+news@acme.com", True, "acme.com", "acme.com"),
        ("info.sales@quantumleap.io", True, "quantumleap.io", "quantumleap.io"),
        ("sean.o'brien@acme.co.uk", True, "acme.co.uk", "acme.co.uk"),
        ("zoë@acme.com", True, "acme.com", "acme.com"),
        ("x@mx.mailinator.com", True, "mx.mailinator.com", "mailinator.com"),
        # Reserved names are test_or_fake (seed quality_test_domains), not syntax errors.
        ("dev@foo.test", True, "foo.test", "foo.test"),
        ("root@localhost", True, "localhost", None),
        ("bob@@acme.com", False, "acme.com", "acme.com"),
        ("jane smith@acme.com", False, "acme.com", "acme.com"),
        ("jane..smith@acme.com", False, "acme.com", "acme.com"),
        ("kim@acme", False, "acme", None),
        ("janeacme.com", False, None, None),
        ("@acme.com", False, "acme.com", "acme.com"),
        ("dev@bad_name.test", False, "bad_name.test", "bad_name.test"),
    ],
)
def test_check_email(email: str, valid: bool, domain: str | None, registrable: str | None):
    result = check_email(email)
    assert result.is_valid_syntax is valid
    assert (result.invalid_reason is None) is valid
    assert result.email_domain == domain
    assert result.registrable_domain == registrable


#: Addresses whose domain part exercises email-validator's domain checks.
DOMAIN_EDGE_CASES = [
    "jane@acme.com",
    "john@acme.com",
    "jane@ACME.com",
    "jane@bücher.de",
    "jane@xn--bcher-kva.de",
    "jane@xn--bcher.de",
    "jane@-acme.com",
    "jane@acme-.com",
    "jane@ac--me.com",
    "jane@a..b.com",
    "jane@acme.com.",
    "jane@.acme.com",
    "jane@" + "a" * 64 + ".com",
    "jane@" + "a" * 63 + ".com",
    "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com",
    "a" * 64 + "@" + ".".join(["b" * 40] * 4) + ".com",
    "jane@[127.0.0.1]",
    "jane@1.2.3.4",
    "jane@com",
    "jane@acme.c",
    "jane@acme.123",
    "jane@sub.invalid",
    "jane@localhost",
    "jane@ac_me.com",
    "jane@ac me.com",
    "jane@acme.com​",
    '"jane doe"@acme.com',
    "jane..doe@acme.com",
    "@acme.com",
    "jane@",
    "zoë@acme.com",
    "jane@\uff45xample.com",  # fullwidth e: NFKC-mapped by the domain check
]


def test_emails_are_trimmed_of_the_white_space_staging_trims():
    """The email checks and staging's email_normalized trim the same characters
    (Unicode's White_Space: Python's isspace() without the four ASCII
    information separators), or a padded address would find no verdict."""
    macro = (
        Path(__file__).resolve().parent.parent
        / "dbt_project"
        / "macros"
        / "portability"
        / "trim_whitespace.sql"
    ).read_text()
    assert f"'{quality.EMAIL_TRIM_PATTERN}', '', 'g')" in macro
    white_space = {c for c in range(0x110000) if chr(c).isspace()} - {28, 29, 30, 31}
    con = duckdb.connect()
    # every code point but the surrogates, on both sides of a letter
    padded_letter = quality.normalized_email_sql("c || 'a' || c")
    trimmed = con.execute(
        f"""
        select list(i order by i)
        from (select i, chr(cast(i as integer)) as c from range(1, 1114112) as t(i)
              where i not between 55296 and 57343)
        where {padded_letter} = 'a'
        """
    ).fetchone()[0]
    assert set(trimmed) == white_space
    padded = [" \tAna@Acme.io\u00a0\n", "\u3000ana@acme.io\r\n\u2029", "a\tb@c.io", "\t \n", None]
    assert [
        con.execute(f"select {quality.normalized_email_sql('?')}", [value]).fetchone()[0]
        for value in padded
    ] == ["ana@acme.io", "ana@acme.io", "a\tb@c.io", None, None]


def test_the_domain_cache_keeps_the_library_verdicts(monkeypatch: pytest.MonkeyPatch):
    """check_email with email-validator's domain check cached == the library's own answers."""
    import email_validator.syntax

    module = sys.modules["email_validator.validate_email"]
    emails = DOMAIN_EDGE_CASES * 2  # the second pass is answered from the cache
    with monkeypatch.context() as patched:
        patched.setattr(
            module, "validate_email_domain_name", email_validator.syntax.validate_email_domain_name
        )
        patched.setattr(quality, "_cache_domain_syntax", lambda: False)
        uncached = [check_email(email) for email in emails]

    assert quality._cache_domain_syntax() is True
    cached_check = module.validate_email_domain_name
    assert cached_check is not email_validator.syntax.validate_email_domain_name
    hits_before = cached_check.cache_info().hits
    cached = [check_email(email) for email in emails]
    assert cached == uncached
    assert cached_check.cache_info().hits > hits_before
    # the cases cover both verdicts, domain errors included
    reasons = {c.invalid_reason for c in cached if c.invalid_reason}
    assert any(c.is_valid_syntax for c in cached)
    assert any("domain" in reason.lower() or "after the @-sign" in reason for reason in reasons)


#: Plain addresses (quality.PLAIN_EMAIL_PATTERN) at the edges of what their
#: domain decides: lengths around the limits, and domains of every verdict.
PLAIN_EDGE_CASES = [
    "a" * 245 + "@acme.com",  # 254 characters: valid
    "a" * 246 + "@acme.com",  # 255: too long
    "a" * 64 + "@acme.com",
    # a longer local part goes one by one (refused by email-validator before 2.3)
    "a" * 65 + "@acme.com",
    "a@" + ".".join(["b" * 63] * 3) + "." + "c" * 61,  # a 253-character domain: 255 in all
    "a@" + ".".join(["b" * 63] * 3) + "." + "c" * 62,  # a 254-character domain
    "jane@" + "a" * 64 + ".com",
    "o'neil+news@acme.co.uk",
    "~!#$%&'*+/=?^_`{|}-@acme.com",
    "jane@sub.localhost",
    "jane@acme.test",
    "jane@test",
    "jane@acme.invalid.com",
    "jane@xn--bcher-kva.de",
    "jane@xn--bcher.de",
    # 254 characters, longer once the domain is decoded (20 CJK characters, 60 bytes)
    "a" * 218 + "@xn--fiqaaaaaaaaa3686dbabbbbbbbb.com",
    # 254 characters, longer with the reserved name swapped for example.com
    "a" * 247 + "@x.test",
    "jane@ab--cd.com",
    "jane@acme.123",
    "jane@123.com",
    "jane@1.2.3.4",
    "jane@a.b.c.d.e.f",
    "jane@acme",
    "jane@acme.",
    "jane@.acme.com",
    "jane@acme..com",
    "jane@-acme.com",
    "jane@acme-.com",
    "jane@acme.-com",
    "jane@acme.com-",
    "jane@a",
    "jane@co.uk",
    "jane@github.io",
    "jane@s3.amazonaws.com",
]


def _random_emails(count: int, seed: int = 20261206) -> list[str]:
    """Random addresses, most of them in or near the plain form."""
    import random

    rng = random.Random(seed)
    local_chars = "abz09._-+'\"@ é\\(~"
    labels = ["acme", "a", "b2b", "xn--bcher-kva", "-x", "x-", "a--b", "123", "test", "invalid"]
    labels += ["localhost", "example", "co", "uk", "io", "b_c", "", "é", "a" * 63, "a" * 64, "com"]
    emails = []
    for _ in range(count):
        local = "".join(
            rng.choice("abcxyz019" if rng.random() < 0.7 else local_chars)
            for _ in range(rng.randint(0, 8))
        )
        domain = ".".join(rng.choice(labels) for _ in range(rng.randint(1, 4)))
        emails.append(f"{local}@{domain}" if rng.random() < 0.95 else local + domain)
    return emails


def checked_emails(
    settings: Settings, emails: list[str], log: Callable[[str], None], **options: bool
) -> tuple[quality.EmailCheckSummary, list[tuple]]:
    """update_email_checks on a fresh raw.crm_contacts holding `emails`: its
    summary and quality.email_checks' rows (without checked_at)."""
    con = connect(settings.warehouse_path)
    try:
        con.execute("drop schema if exists quality cascade")
        con.execute("create schema if not exists raw")
        con.execute("create or replace table raw.crm_contacts (contact_id varchar, email varchar)")
        con.executemany(
            "insert into raw.crm_contacts values (?, ?)",
            [(f"C{i}", email) for i, email in enumerate(emails)],
        )
        summary = update_email_checks(con, log, **options)
        rows = con.execute(
            "select * exclude (checked_at) from quality.email_checks order by all"
        ).fetchall()
        return summary, rows
    finally:
        con.close()


def test_plain_emails_judged_by_domain_match_the_one_by_one_verdicts(settings: Settings):
    """update_email_checks writes the same rows with and without the by-domain path."""
    emails = PLAIN_EDGE_CASES + DOMAIN_EDGE_CASES + _random_emails(6000)
    # the corpus has plain addresses with valid and with invalid domains
    plain = [e for e in set(emails) if re.fullmatch(quality.PLAIN_EMAIL_PATTERN, e)]
    assert sum(check_email(e).is_valid_syntax for e in plain) > 500
    assert sum(not check_email(e).is_valid_syntax for e in plain) > 300

    def checked(by_domain: bool) -> tuple[list[tuple], list[str]]:
        messages: list[str] = []
        summary, rows = checked_emails(settings, emails, messages.append, by_domain=by_domain)
        assert summary.checked == summary.cached > 5000
        return rows, messages

    one_by_one, _ = checked(by_domain=False)
    by_domain, messages = checked(by_domain=True)
    assert by_domain == one_by_one
    judged = re.search(r"(\d+) plain email\(s\) judged valid", " ".join(messages))
    assert judged is not None and int(judged.group(1)) > 500


def test_email_checks_are_incremental(settings: Settings):
    con = connect(settings.warehouse_path)
    try:
        con.execute("create schema raw")
        con.execute("create table raw.crm_contacts (contact_id varchar, email varchar)")
        con.execute(
            "insert into raw.crm_contacts values ('C1', ' Jane@Acme.com'), "
            "('C2', 'jane@acme.com'), ('C3', 'bob@@acme.com'), ('C4', null), ('C5', '  ')"
        )
        first = update_email_checks(con)
        assert (first.checked, first.invalid, first.cached) == (2, 1, 2)
        rows = con.execute(
            "select email_normalized, is_valid_syntax from quality.email_checks order by 1"
        ).fetchall()
        assert rows == [("bob@@acme.com", False), ("jane@acme.com", True)]

        # The next day only the new address is validated.
        con.execute("insert into raw.crm_contacts values ('C6', 'new@acme.com')")
        second = update_email_checks(con)
        assert (second.checked, second.cached) == (1, 3)
        assert update_email_checks(con).checked == 0

        # A new validator version re-checks everything once.
        con.execute("update quality.email_checks set validator_version = 'email-validator 0.1'")
        third = update_email_checks(con)
        assert (third.checked, third.rechecked_for_new_validator) == (3, 3)
        assert con.execute(
            "select count(*) from quality.email_checks where validator_version = ?",
            [VALIDATOR_VERSION],
        ).fetchone() == (3,)

        # So does a new Public Suffix List with the same validator: the
        # registrable domains (which the test-domain flag matches) come from it.
        psl = f"publicsuffixlist {importlib.metadata.version('publicsuffixlist')}"
        assert VALIDATOR_VERSION.endswith(psl)
        con.execute(
            "update quality.email_checks set validator_version = ?",
            [VALIDATOR_VERSION.removesuffix(psl) + "publicsuffixlist 1.0.0.20240101"],
        )
        fourth = update_email_checks(con)
        assert (fourth.checked, fourth.rechecked_for_new_validator) == (3, 3)
    finally:
        con.close()


def test_a_large_email_backlog_is_validated_in_worker_processes(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    """Worker processes (small thresholds here) write the same rows as in process.

    Plain addresses at 25 domains, checked in workers (the reserved foo.test
    and localhost are left to the next step), and 17 addresses validated one by
    one in workers.
    """
    emails = [f"user{i}@acme{i % 23}.com" for i in range(40)] + [
        "bob@@acme.com",
        "dev@foo.test",
        "root@localhost",
        "no-at-sign",
        "zoë@acme.com",
    ]
    emails += [f"zoë{i}@acme{i}.com" for i in range(12)]

    messages: list[str] = []

    def checked(workers: str) -> list[tuple]:
        monkeypatch.setenv("LEADSCORE_EMAIL_WORKERS", workers)
        messages.clear()
        summary, rows = checked_emails(settings, emails, messages.append)
        assert (summary.checked, summary.cached) == (len(emails), len(emails))
        return rows

    monkeypatch.setattr(quality, "EMAIL_BATCH_SIZE", 7)
    monkeypatch.setattr(quality, "EMAIL_PARALLEL_MIN", 10)
    assert quality.email_workers({"LEADSCORE_EMAIL_WORKERS": "3"}) == 3
    in_process = checked("1")
    assert not any("worker processes" in message for message in messages)
    assert checked("2") == in_process
    assert "email checks: 25 domain(s) to validate in 2 worker processes" in messages
    assert "email checks: 17 email(s) to validate in 2 worker processes" in messages
    assert sum(not row[1] for row in in_process) == 2


# --------------------------------------------------------------------------------------
# Suites


def test_every_suite_loads_with_great_expectations():
    for entity in ENTITIES:
        suite = load_suite(entity)
        names = [e.meta["check_name"] for e in suite.expectations]
        assert len(names) == len(set(names))
        assert "required_columns_present" in names and "row_count_not_collapsed" in names
        assert any(
            e.expectation_type == "expect_column_values_to_be_unique" for e in suite.expectations
        )


def test_a_suite_with_an_unsupported_expectation_is_an_error(tmp_path: Path):
    doc = read_suite_json("crm_accounts")
    doc["expectations"].append(
        {
            "type": "expect_column_values_to_match_regex",
            "kwargs": {"column": "account_id", "regex": "^A"},
            "meta": {"check_name": "account_id_format"},
        }
    )
    (tmp_path / "crm_accounts.json").write_text(json.dumps(doc))
    with pytest.raises(SuiteError, match="not supported by the DuckDB translation"):
        load_suite("crm_accounts", expectations_dir=tmp_path)


# --------------------------------------------------------------------------------------
# Batch checks, called directly


def test_a_good_batch_passes_every_check(settings: Settings):
    write_landing(settings.landing_dir)
    load_landing(settings)
    for entity in ENTITIES:
        outcomes = run(settings, entity)
        failed = [o.summary() for o in outcomes.values() if not o.success]
        assert failed == [], failed
    # Nothing failed, so the audit table holds no rows; the row counts were recorded.
    assert query(settings, "select count(*) from audit.check_failures") == [(0,)]
    assert query(
        settings,
        "select entity, row_count, passed from audit.batch_history order by entity",
    ) == [
        ("crm_accounts", 3, True),
        ("crm_contacts", 20, True),
        ("crm_opportunities", 0, True),
        ("marketing_activities", 100, True),
    ]


def test_future_timestamps_fail_with_their_ids(settings: Settings, monkeypatch):
    future = {
        7: {"occurred_at": "2026-03-31T14:00:00Z"},
        9: {"occurred_at": "2027-01-01T00:00:00Z"},
    }
    # 12:50 is within the default 60-minute skew of NOW (12:00): allowed.
    future[3] = {"occurred_at": "2026-03-31T12:50:00Z"}
    write_landing(settings.landing_dir, activity_overrides=future)
    load_landing(settings)
    check = run(settings, "marketing_activities")["occurred_at_not_in_future"]
    assert not check.success and check.is_blocking
    assert check.unexpected_count == 2
    assert [row["record_id"] for row in check.failing_sample] == ["X00007", "X00009"]
    assert check.failing_sample[0]["source_file"] == "marketing/activities_2026_03.csv"
    assert check.observed["max_value"] == "2026-03-31 13:00:00"
    # The one-line summary (the message `leadscore run` prints) names the rows.
    assert check.summary() == (
        "marketing_activities.occurred_at_not_in_future FAILED: 2 failing row(s) (2.0%); e.g. "
        "X00007 (marketing/activities_2026_03.csv row 7, occurred_at='2026-03-31 14:00:00'), "
        "X00009 (marketing/activities_2026_03.csv row 9, occurred_at='2027-01-01 00:00:00'); "
        "all in audit.check_failures"
    )
    # The full set is in the audit table, for a person to inspect.
    assert query(
        settings,
        "select record_id, column_name, value from audit.check_failures "
        "where check_name = 'occurred_at_not_in_future' order by record_id",
    ) == [
        ("X00007", "occurred_at", "2026-03-31 14:00:00"),
        ("X00009", "occurred_at", "2027-01-01 00:00:00"),
    ]

    # The skew is configurable: three hours let the 14:00 activity through.
    monkeypatch.setenv("LEADSCORE_MAX_FUTURE_SKEW_MINUTES", "180")
    check = run(settings, "marketing_activities", run_id="r2")["occurred_at_not_in_future"]
    assert not check.success and check.unexpected_count == 1
    assert query(
        settings,
        "select record_id, run_id from audit.check_failures "
        "where check_name = 'occurred_at_not_in_future'",
    ) == [("X00009", "r2")], "failing rows are replaced per check per run"

    monkeypatch.setenv("LEADSCORE_MAX_FUTURE_SKEW_MINUTES", "soon")
    with pytest.raises(SuiteError, match="LEADSCORE_MAX_FUTURE_SKEW_MINUTES"):
        run(settings, "marketing_activities", run_id="r3")


def test_broken_referential_integrity_fails_above_the_threshold(settings: Settings, monkeypatch):
    # 1 orphan in 100 activities (99%) passes the default 95%; 10 (90%) fail.
    orphans = {n: {"contact_id": f"GONE{n}"} for n in range(1, 101, 10)}
    write_landing(settings.landing_dir, activity_overrides={1: {"contact_id": "GONE1"}})
    load_landing(settings)
    check = run(settings, "marketing_activities")["contact_id_references_contacts"]
    assert check.success and check.unexpected_count == 1
    assert check.observed["success_rate"] == 0.99

    write_landing(settings.landing_dir, activity_overrides=orphans)
    load_landing(settings)
    check = run(settings, "marketing_activities", run_id="r2")["contact_id_references_contacts"]
    assert not check.success and check.is_blocking
    assert check.unexpected_count == 10
    assert [row["record_id"] for row in check.failing_sample][:3] == ["X00001", "X00011", "X00021"]
    assert check.observed["top_unexpected_values"]["GONE11"] == 1
    assert check.observed["reference"] == "raw.crm_contacts.contact_id"

    # The threshold is configurable.
    monkeypatch.setenv("LEADSCORE_MIN_REFERENTIAL_INTEGRITY", "0.85")
    assert run(settings, "marketing_activities", run_id="r3")[
        "contact_id_references_contacts"
    ].success


def test_contacts_without_an_account_are_not_judged_by_referential_integrity(
    settings: Settings,
):
    write_landing(settings.landing_dir)
    load_landing(settings)
    execute(settings, "update raw.crm_contacts set account_id = null where contact_id > 'C010'")
    execute(settings, "update raw.crm_contacts set account_id = 'A999' where contact_id = 'C001'")
    check = run(settings, "crm_contacts")["account_id_references_accounts"]
    # 1 broken reference among the 10 contacts that have an account: 90% < 95%.
    assert not check.success
    assert (check.element_count, check.missing_count, check.unexpected_count) == (20, 10, 1)
    assert check.unexpected_percent == 10.0


def test_a_collapsed_row_count_fails_against_the_last_passed_load(settings: Settings, monkeypatch):
    write_landing(settings.landing_dir, contacts=20)
    load_landing(settings)
    first = run(settings, "crm_contacts", run_id="day1")["row_count_not_collapsed"]
    assert first.success and first.observed["previous_row_count"] is None

    # The warehouse is rebuilt from a truncated export: 8 of 20 contacts left.
    execute(settings, "delete from raw.crm_contacts where contact_id > 'C008'")
    check = run(settings, "crm_contacts", run_id="day2")["row_count_not_collapsed"]
    assert not check.success and check.is_blocking
    assert check.observed["row_count"] == 8
    assert check.observed["previous_row_count"] == 20
    assert check.observed["min_row_count"] == 10
    # The failed day is recorded but is not the new baseline.
    assert query(
        settings, "select run_id, row_count, passed from audit.batch_history order by checked_at"
    ) == [("day1", 20, True), ("day2", 8, False)]
    check = run(settings, "crm_contacts", run_id="day3")["row_count_not_collapsed"]
    assert not check.success and check.observed["previous_row_count"] == 20

    monkeypatch.setenv("LEADSCORE_MIN_VOLUME_RATIO", "0.4")
    assert run(settings, "crm_contacts", run_id="day4")["row_count_not_collapsed"].success


def test_a_truncated_delivery_fails_though_the_table_keeps_its_rows(
    settings: Settings, monkeypatch
):
    """Deliveries are upserts, so the table never shrinks: the file is judged."""
    write_landing(settings.landing_dir, contacts=20)
    load_landing(settings)
    first = run(settings, "crm_contacts", run_id="day1")["delivery_not_collapsed"]
    assert first.success and first.observed["accepted_deliveries"] == 0

    # The next export is cut to 8 of 20 contacts; the table still holds 20.
    contacts = settings.landing_dir / "crm" / "contacts.csv"
    contacts.write_text("\n".join(contacts.read_text().splitlines()[:9]) + "\n")
    load_landing(settings)
    outcomes = run(settings, "crm_contacts", run_id="day2")
    assert outcomes["row_count_not_collapsed"].success  # 20 rows in the table
    check = outcomes["delivery_not_collapsed"]
    assert not check.success and check.is_blocking
    assert check.observed["collapsed_files"] == 1
    assert check.failing_sample[0]["source_file"] == "crm/contacts.csv"
    assert check.summary().startswith(
        "crm_contacts.delivery_not_collapsed FAILED: 1 landing file(s) with fewer than 50% "
        "of the rows of their accepted version; e.g. crm/contacts.csv: 8 rows, at least 10 "
        "expected (the accepted version, loaded "
    )
    assert check.summary().endswith(" UTC, had 20); all in audit.check_failures")
    assert query(
        settings,
        "select source_file, source_row, value like '8 rows%' from audit.check_failures "
        "where check_name = 'delivery_not_collapsed'",
    ) == [("crm/contacts.csv", None, True)]

    # Not reloaded and not accepted: still failing on the next run, and a new
    # format of the same export is compared with the accepted CSV.
    assert not run(settings, "crm_contacts", run_id="day3")["delivery_not_collapsed"].success
    contacts.unlink()
    (settings.landing_dir / "crm" / "contacts.jsonl").write_text(
        "".join(
            json.dumps({"contact_id": f"C{i:03d}", "email": "", "created_at": "2026-01-01"}) + "\n"
            for i in range(1, 10)
        )
    )
    load_landing(settings)
    check = run(settings, "crm_contacts", run_id="day4")["delivery_not_collapsed"]
    assert not check.success
    assert check.failing_sample[0]["source_file"] == "crm/contacts.jsonl"
    assert "(the accepted version, crm/contacts.csv loaded " in check.failing_sample[0]["value"]

    # A full export again passes and becomes the baseline; so does a lower ratio.
    monkeypatch.setenv("LEADSCORE_MIN_VOLUME_RATIO", "0.4")
    assert run(settings, "crm_contacts", run_id="day5")["delivery_not_collapsed"].success
    monkeypatch.delenv("LEADSCORE_MIN_VOLUME_RATIO")
    assert run(settings, "crm_contacts", run_id="day6")["delivery_not_collapsed"].success
    assert query(
        settings,
        "select count(*) from audit.check_failures where check_name = 'delivery_not_collapsed'",
    ) == [(0,)]


def test_activity_files_are_compared_with_their_own_accepted_version(settings: Settings):
    write_landing(settings.landing_dir, contacts=20)
    load_landing(settings)
    assert run(settings, "marketing_activities", run_id="day1")["delivery_not_collapsed"].success
    # A small new daily file is normal; a re-delivered March file with 10 of its
    # 100 rows is not.
    write_csv(
        settings.landing_dir / "marketing" / "activities_2026_04.csv",
        [
            {
                "activity_id": "Y1",
                "contact_id": "C001",
                "activity_type": "page_view",
                "occurred_at": "2026-03-30T10:00:00Z",
            }
        ],
    )
    load_landing(settings)
    assert run(settings, "marketing_activities", run_id="day2")["delivery_not_collapsed"].success
    march = settings.landing_dir / "marketing" / "activities_2026_03.csv"
    march.write_text("\n".join(march.read_text().splitlines()[:11]) + "\n")
    load_landing(settings)
    check = run(settings, "marketing_activities", run_id="day3")["delivery_not_collapsed"]
    assert not check.success
    assert [row["source_file"] for row in check.failing_sample] == [
        "marketing/activities_2026_03.csv"
    ]
    assert check.failing_sample[0]["value"].startswith(
        "10 rows, at least 50 expected (the accepted"
    )


def first_contacts_load(settings: Settings) -> int:
    return query(settings, "select min(load_id) from raw._load_log where entity = 'crm_contacts'")[
        0
    ][0]


def test_a_touched_identical_file_passes_and_a_deleted_collapsed_file_is_not_judged(
    settings: Settings,
):
    write_landing(settings.landing_dir, contacts=20)
    load_landing(settings)
    assert run(settings, "marketing_activities", run_id="day1")["delivery_not_collapsed"].success
    march = settings.landing_dir / "marketing" / "activities_2026_03.csv"
    # Touched, same content: logged with 0 rows, judged with its content's 100.
    os.utime(march, ns=(march.stat().st_atime_ns, march.stat().st_mtime_ns + 10**9))
    load_landing(settings)
    assert query(
        settings, "select row_count from raw._load_log where source_file like '%03.csv' order by 1"
    ) == [(0,), (100,)]
    check = run(settings, "marketing_activities", run_id="day2")["delivery_not_collapsed"]
    assert check.success, check.summary()

    full = march.read_text()
    march.write_text("\n".join(full.splitlines()[:11]) + "\n")
    load_landing(settings)
    landing = {"landing_dir": settings.landing_dir}
    check = run(settings, "marketing_activities", run_id="day3", **landing)
    assert not check["delivery_not_collapsed"].success
    assert check["delivery_not_collapsed"].observed["files_present"] == 1
    # The bad file taken away (its rows stay loaded): nothing left to judge...
    march.unlink()
    check = run(settings, "marketing_activities", run_id="day4", **landing)
    assert check["delivery_not_collapsed"].success
    assert check["delivery_not_collapsed"].observed["files_present"] == 0
    # ... and nothing accepted: the 100-row version is still the one to keep.
    assert query(
        settings, "select source_file, row_count, run_id from audit.accepted_deliveries"
    ) == [("marketing/activities_2026_03.csv", 100, "day2")]
    march.write_text("\n".join(full.splitlines()[:7]) + "\n")
    load_landing(settings)
    check = run(settings, "marketing_activities", run_id="day5", **landing)
    assert not check["delivery_not_collapsed"].success
    assert (
        check["delivery_not_collapsed"]
        .failing_sample[0]["value"]
        .startswith("6 rows, at least 50 expected")
    )


def test_a_volume_check_run_alone_never_moves_the_other_ones_baseline(settings: Settings):
    """From the UI one check of a suite can run alone: a passed table-count check
    must not accept a truncated delivery it never looked at."""
    write_landing(settings.landing_dir, contacts=20)
    load_landing(settings)
    assert all(o.success for o in run(settings, "crm_contacts", run_id="day1").values())
    contacts = settings.landing_dir / "crm" / "contacts.csv"
    contacts.write_text("\n".join(contacts.read_text().splitlines()[:9]) + "\n")
    load_landing(settings)
    alone = run(settings, "crm_contacts", run_id="day2", selected={"row_count_not_collapsed"})
    assert list(alone) == ["row_count_not_collapsed"] and alone["row_count_not_collapsed"].success
    assert query(
        settings,
        "select run_id, passed, table_count_checked, deliveries_checked "
        "from audit.batch_history order by checked_at",
    ) == [("day1", True, True, True), ("day2", True, True, False)]
    check = run(settings, "crm_contacts", run_id="day3")["delivery_not_collapsed"]
    assert not check.success
    assert query(settings, "select load_id, run_id from audit.accepted_deliveries") == [
        (first_contacts_load(settings), "day1")
    ]

    # And the other way round: the delivery check alone (passing: the whole
    # export is back) leaves the table's baseline.
    write_landing(settings.landing_dir, contacts=20)
    load_landing(settings)
    execute(settings, "delete from raw.crm_contacts where contact_id > 'C005'")
    alone = run(settings, "crm_contacts", run_id="day4", selected={"delivery_not_collapsed"})
    assert alone["delivery_not_collapsed"].success
    check = run(settings, "crm_contacts", run_id="day5")["row_count_not_collapsed"]
    assert not check.success and check.observed["previous_row_count"] == 20


def test_the_delivery_check_reads_batch_history_written_before_it_existed(settings: Settings):
    """A warehouse upgraded from before audit.accepted_deliveries, `load_id` and
    the checked flags: the last passed check accepted what was loaded by its time."""
    write_landing(settings.landing_dir, contacts=20)
    load_landing(settings)
    assert run(settings, "crm_contacts", run_id="day1")["delivery_not_collapsed"].success
    for column in ("load_id", "table_count_checked", "deliveries_checked"):
        execute(settings, f"alter table audit.batch_history drop column {column}")
    execute(settings, "drop table audit.accepted_deliveries")
    contacts = settings.landing_dir / "crm" / "contacts.csv"
    contacts.write_text("\n".join(contacts.read_text().splitlines()[:9]) + "\n")
    load_landing(settings)
    check = run(settings, "crm_contacts", run_id="day2")["delivery_not_collapsed"]
    assert not check.success
    assert query(settings, "select load_id, run_id from audit.accepted_deliveries") == [
        (first_contacts_load(settings), "batch_history")
    ]
    assert query(
        settings, "select run_id, load_id, deliveries_checked from audit.batch_history order by 1"
    ) == [("day1", None, None), ("day2", check.observed["current_load_id"], True)]
    assert check.observed["current_load_id"] > first_contacts_load(settings)


def test_null_and_duplicate_ids_and_missing_columns_fail(settings: Settings):
    write_landing(settings.landing_dir)
    load_landing(settings)
    # Ingestion rejects such files; an API source or a manual fix could still do it.
    execute(settings, "update raw.crm_contacts set contact_id = null where contact_id = 'C002'")
    execute(settings, "update raw.crm_contacts set contact_id = 'C003' where contact_id = 'C004'")
    execute(settings, "alter table raw.crm_accounts drop column account_name")
    contacts = run(settings, "crm_contacts")
    not_null = contacts["contact_id_not_null"]
    assert not not_null.success and not_null.unexpected_count == 1
    # A null id is located by file and row instead.
    assert not_null.failing_sample[0]["record_id"] is None
    assert not_null.failing_sample[0]["source_row"] == 2
    unique = contacts["contact_id_unique"]
    assert not unique.success and unique.unexpected_count == 2
    assert [r["record_id"] for r in unique.failing_sample] == ["C003", "C003"]

    columns = run(settings, "crm_accounts")["required_columns_present"]
    assert not columns.success
    assert columns.observed["missing_columns"] == ["account_name"]


def test_unknown_activity_types_are_reported_but_never_block(settings: Settings):
    write_landing(
        settings.landing_dir,
        activity_overrides={
            2: {"activity_type": "podcast_listen"},
            5: {"activity_type": "podcast_listen"},
            8: {"activity_type": "chatbot_message"},
            9: {"activity_type": " Page_View "},  # staging trims and lower-cases: known
        },
    )
    load_landing(settings)
    check = run(settings, "marketing_activities")["activity_type_in_vocabulary"]
    assert not check.success and not check.is_blocking
    assert check.unexpected_count == 3
    assert check.observed["top_unexpected_values"] == {"podcast_listen": 2, "chatbot_message": 1}
    # its one-line summary says it warns: only a blocking check "FAILED"
    assert check.summary().startswith(
        "marketing_activities.activity_type_in_vocabulary WARNS: 3 failing row(s)"
    ), check.summary()


def test_a_country_that_is_not_an_iso_code_warns_and_is_kept(settings: Settings, monkeypatch):
    """SPEC section 2: country is ISO 3166-1 alpha-2. UK and Germany are not (GB, DE);
    ' de ' is, as scoring reads it, and a blank country is no value."""
    write_landing(settings.landing_dir, contacts=6)
    write_csv(
        settings.landing_dir / "crm" / "accounts.csv",
        [
            {"account_id": "A1", "account_name": "One", "country": "Deutschland"},
            {"account_id": "A2", "account_name": "Two", "country": "gb"},
            {"account_id": "A3", "account_name": "Three", "country": ""},
        ],
    )
    countries = {1: "UK", 2: " de ", 3: "Germany", 4: "  ", 5: "UK", 6: "US"}
    write_csv(
        settings.landing_dir / "crm" / "contacts.csv",
        [
            {
                "contact_id": f"C{i:03d}",
                "email": f"person{i}@acme.com",
                "created_at": "2026-01-01T09:00:00Z",
                "account_id": f"A{1 + i % 3}",
                "country": country,
            }
            for i, country in countries.items()
        ],
    )
    load_landing(settings)
    contacts = run(settings, "crm_contacts")
    check = contacts["country_is_iso_3166_1_alpha_2"]
    assert not check.success and not check.is_blocking
    assert check.unexpected_count == 3
    assert check.observed["top_unexpected_values"] == {"UK": 2, "Germany": 1}
    assert check.failing_sample[0]["record_id"] == "C001"
    assert check.summary().startswith(
        "crm_contacts.country_is_iso_3166_1_alpha_2 WARNS: 3 failing row(s)"
    ), check.summary()
    # a warning never blocks: the other checks decide
    assert all(o.success for name, o in contacts.items() if name != check.check_name)
    accounts = run(settings, "crm_accounts")["country_is_iso_3166_1_alpha_2"]
    assert accounts.observed["top_unexpected_values"] == {"Deutschland": 1}

    # A new release of the code list re-judges every row: 'UK' becomes known.
    log: list[str] = []
    monkeypatch.setitem(
        quality.VALUE_SET_PARAMETERS, "iso_3166_1_alpha_2", lambda: ("DE", "GB", "UK", "US")
    )
    con = connect(settings.warehouse_path)
    try:
        rerun = outcomes_by_name(
            run_suite(con, "crm_contacts", run_id="r2", now=NOW, log=log.append)
        )
    finally:
        con.close()
    assert rerun["country_is_iso_3166_1_alpha_2"].observed["top_unexpected_values"] == {
        "Germany": 1
    }
    assert any("country_is_iso_3166_1_alpha_2" in line and "full scan" in line for line in log)


def test_the_duckdb_translation_agrees_with_great_expectations(settings: Settings, monkeypatch):
    """GX's own pandas engine, on the same small tables, reaches the same verdicts."""
    import great_expectations as gx

    monkeypatch.setenv("GX_ANALYTICS_ENABLED", "false")
    write_landing(
        settings.landing_dir,
        contact_created_at={4: "2027-01-01T00:00:00Z"},
        activity_overrides={
            3: {"occurred_at": "2026-04-02T00:00:00Z"},
            4: {"activity_type": "podcast_listen"},
            **{n: {"contact_id": f"GONE{n}"} for n in range(10, 100, 12)},
        },
    )
    load_landing(settings)
    execute(settings, "update raw.crm_contacts set contact_id = 'C001' where contact_id = 'C002'")
    execute(settings, "update raw.crm_contacts set account_id = 'A999' where contact_id = 'C009'")
    # countries as a CRM exports them: staging trims and upper-cases (meta.normalize)
    for contact, country in {
        "C003": " de ",
        "C004": "UK",
        "C005": "   ",
        "C006": "Germany",
    }.items():
        execute(
            settings,
            f"update raw.crm_contacts set country = '{country}' where contact_id = '{contact}'",
        )
    execute(settings, "update raw.crm_accounts set country = 'gb ' where account_id = 'A1'")
    execute(settings, "update raw.crm_accounts set country = 'Deutschland' where account_id = 'A2'")
    normalizers = {
        "lower_trim": lambda column: column.str.strip().str.lower(),
        "upper_trim": lambda column: column.str.strip().str.upper().replace("", None),
    }

    context = gx.get_context(mode="ephemeral")
    batch_definition = (
        context.data_sources.add_pandas("raw")
        .add_dataframe_asset("table")
        .add_batch_definition_whole_dataframe("all")
    )
    con = connect(settings.warehouse_path)
    try:
        for entity in ("crm_accounts", "crm_contacts", "marketing_activities"):
            ours = outcomes_by_name(run_suite(con, entity, run_id="conformance", now=NOW))
            frame = con.sql(f"select * from raw.{entity}").df()
            parameters = {
                "max_allowed_timestamp": NOW + dt.timedelta(minutes=60),
                "min_row_count": 0,
                "known_account_ids": [
                    r[0] for r in con.execute("select account_id from raw.crm_accounts").fetchall()
                ],
                "known_contact_ids": [
                    r[0] for r in con.execute("select contact_id from raw.crm_contacts").fetchall()
                ],
                "iso_3166_1_alpha_2": list(quality.VALUE_SET_PARAMETERS["iso_3166_1_alpha_2"]()),
            }
            for expectation in load_suite(entity).expectations:
                normalize = (expectation.meta or {}).get("normalize")
                data = frame
                if normalize is not None:
                    data = frame.assign(
                        **{expectation.column: normalizers[normalize](frame[expectation.column])}
                    )
                batch = batch_definition.get_batch(batch_parameters={"dataframe": data})
                theirs = batch.validate(expectation, expectation_parameters=parameters)
                mine = ours[expectation.meta["check_name"]]
                assert theirs.success == mine.success, mine.summary()
                if "unexpected_count" in theirs.result:
                    assert theirs.result["unexpected_count"] == mine.unexpected_count, (
                        mine.summary()
                    )
            failed = sorted(name for name, o in ours.items() if not o.success)
            expected = {
                "crm_accounts": ["country_is_iso_3166_1_alpha_2"],
                "crm_contacts": [
                    "contact_id_unique",
                    "country_is_iso_3166_1_alpha_2",
                    "created_at_not_in_future",
                ],
                "marketing_activities": [
                    "activity_type_in_vocabulary",
                    "contact_id_references_contacts",
                    "occurred_at_not_in_future",
                ],
            }[entity]
            assert failed == expected
    finally:
        con.close()


# --------------------------------------------------------------------------------------
# Through Dagster: blocking asset checks on the raw assets


def materialize_gate(settings: Settings):
    return materialize(
        [*ingestion_assets, *quality_assets, *quality_checks],
        resources={"leadscore": LeadscoreResource.from_settings(settings)},
        partition_key=PARTITION,
        raise_on_error=False,
        instance=DagsterInstance.ephemeral(),
    )


def test_dagster_blocks_downstream_assets_when_a_batch_check_fails(settings: Settings):
    write_landing(settings.landing_dir, contact_created_at={5: "2099-01-01T00:00:00Z"})
    result = materialize_gate(settings)
    assert not result.success
    evaluations = {
        (e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()
    }
    # Every expectation of the contacts suite reported a result.
    assert {name for entity, name in evaluations if entity == "crm_contacts"} == {
        e["meta"]["check_name"] for e in read_suite_json("crm_contacts")["expectations"]
    }
    failed = evaluations[("crm_contacts", "created_at_not_in_future")]
    assert not failed.passed and failed.severity == AssetCheckSeverity.ERROR
    assert failed.metadata["failing_ids"].data == ["C005"]
    assert failed.metadata["unexpected_count"].value == 1
    assert "audit.check_failures" in failed.metadata["all_failing_rows"].text
    assert evaluations[("crm_contacts", "contact_id_unique")].passed

    # The failed blocking check stopped everything downstream of raw/crm_contacts:
    # the email checks, and the suites that compare other tables with it.
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert AssetKey(["raw", "crm_contacts"]) in materialized
    assert AssetKey(["quality", "email_checks"]) not in materialized
    assert not any(entity == "marketing_activities" for entity, _ in evaluations)
    assert "gx_crm_contacts" in {e.step_key for e in result.all_events if e.is_step_failure}


def test_dagster_runs_the_email_checks_after_a_good_batch(settings: Settings):
    write_landing(settings.landing_dir, activity_overrides={7: {"activity_type": "podcast_listen"}})
    result = materialize_gate(settings)
    assert result.success
    evaluations = {
        (e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()
    }
    assert set(evaluations) == {
        (entity, e["meta"]["check_name"])
        for entity in ENTITIES
        for e in read_suite_json(entity)["expectations"]
    }
    # Unknown activity types warn (counted in the metadata) and do not block.
    unknown = evaluations.pop(("marketing_activities", "activity_type_in_vocabulary"))
    assert not unknown.passed and unknown.severity == AssetCheckSeverity.WARN
    assert unknown.metadata["top_unexpected_values"].data == {"podcast_listen": 1}
    assert unknown.metadata["failing_ids"].data == ["X00007"]
    assert all(e.passed for e in evaluations.values())

    materializations = {
        e.asset_key: e.materialization for e in result.get_asset_materialization_events()
    }
    email = materializations[AssetKey(["quality", "email_checks"])]
    assert email.metadata["emails_checked"].value == 20
    assert query(settings, "select count(*) from quality.email_checks") == [(20,)]


def test_check_failures_table_lists_every_failing_row_not_only_the_sample(settings: Settings):
    overrides = {n: {"contact_id": f"GONE{n}"} for n in range(1, 61)}
    write_landing(settings.landing_dir, activity_overrides=overrides)
    load_landing(settings)
    check = run(settings, "marketing_activities")["contact_id_references_contacts"]
    assert check.unexpected_count == 60
    assert len(check.failing_sample) == 20
    assert query(
        settings,
        "select count(*) from audit.check_failures "
        "where entity = 'marketing_activities' and check_name = 'contact_id_references_contacts'",
    ) == [(60,)]


def test_a_missing_raw_table_is_an_error_not_a_pass(settings: Settings):
    con = duckdb.connect(str(settings.warehouse_path))
    con.close()
    with pytest.raises(SuiteError, match=r"raw\.crm_accounts does not exist"):
        run(settings, "crm_accounts")


def test_failing_row_labels_in_the_summary():
    from orchestration.quality import _row_label

    # a row of a landing file: id, file and row, the value checked
    assert (
        _row_label(
            {
                "record_id": "X1",
                "source_file": "marketing/a.csv",
                "source_row": 4,
                "column_name": "occurred_at",
                "value": "2099-01-01 00:00:00",
            }
        )
        == "X1 (marketing/a.csv row 4, occurred_at='2099-01-01 00:00:00')"
    )
    # a finding about the table itself (a missing column)
    assert (
        _row_label(
            {
                "record_id": None,
                "source_file": None,
                "column_name": "activity_type",
                "value": "column missing",
            }
        )
        == "activity_type: column missing"
    )
    # no row number, no id, a long value shortened
    assert (
        _row_label(
            {
                "record_id": None,
                "source_file": "crm/c.csv",
                "column_name": "email",
                "value": "x" * 200,
            }
        )
        == "(no id) (crm/c.csv, email='" + "x" * 77 + "...')"
    )


def test_the_suites_readme_counts_every_suites_checks():
    """expectations/README.md's table of suites stays true when a check is added."""
    root = Path(__file__).resolve().parent.parent / "expectations"
    listed = dict(
        re.findall(
            r"^\| `(\w+)\.json` \| `raw\.\w+` \| (\d+) \|$", (root / "README.md").read_text(), re.M
        )
    )
    assert listed == {
        entity: str(len(json.loads((root / f"{entity}.json").read_text())["expectations"]))
        for entity in ENTITIES
    }
