"""Incremental batch checks: after each load, the row-level expectations rescan
only the new rows (plus the failing ones and what they touch), and must find
exactly what a full scan of the same warehouse finds."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pytest

from orchestration.ingest import load_landing
from orchestration.quality import ENTITIES, CheckOutcome, load_suite, run_suite
from orchestration.resources import connect
from orchestration.settings import Settings

NOW = dt.datetime(2026, 3, 31, 12, 0, 0)
LATER = dt.datetime(2026, 4, 30, 12, 0, 0)


def write_csv(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def contacts(landing: Path, ids: range) -> None:
    write_csv(
        landing / "crm" / "contacts.csv",
        [
            {
                "contact_id": f"C{i:03d}",
                "email": f"person{i}@acme.com",
                "created_at": "2026-01-01T09:00:00Z",
                "account_id": f"A{1 + i % 3}",
            }
            for i in ids
        ],
    )


def activities(landing: Path, name: str, ids: range, overrides: dict[int, dict[str, str]]) -> None:
    rows = []
    for n in ids:
        row = {
            "activity_id": f"X{n:05d}",
            "contact_id": f"C{1 + n % 20:03d}",
            "activity_type": "page_view",
            "occurred_at": f"2026-03-{1 + n % 28:02d}T10:00:00Z",
        }
        row.update(overrides.get(n, {}))
        rows.append(row)
    write_csv(landing / "marketing" / f"activities_{name}.csv", rows)


def execute(settings: Settings, *statements: str) -> None:
    con = connect(settings.warehouse_path)
    try:
        for sql in statements:
            con.execute(sql)
    finally:
        con.close()


def api_write(settings: Settings, sql_select: str) -> None:
    """Insert rows as another writer (an API source) would: with a new load id."""
    execute(
        settings,
        "insert into raw._load_log select max(load_id) + 1, 'marketing_activities', "
        "'api/activities', 0, 0, 'api', 1, 1, cast(now() as timestamp) from raw._load_log",
        f"insert into raw.marketing_activities by name {sql_select}",
    )


def check_all(
    path: Path, now: dt.datetime, full_scan: bool, log: list[str] | None = None, **kwargs
) -> tuple[dict[str, dict], list[tuple]]:
    """Every suite on the warehouse at `path`: (outcomes, all failing rows)."""
    con = connect(path)
    try:
        outcomes: dict[str, dict] = {}
        for entity in ENTITIES:
            for outcome in run_suite(
                con,
                entity,
                run_id="run",
                now=now,
                full_scan=full_scan,
                log=(log.append if log is not None else lambda _: None),
                **kwargs.get(entity, {}),
            ):
                outcomes[f"{entity}.{outcome.check_name}"] = _comparable(outcome)
        # entity, check_name, expectation_type, record_id, column_name, value,
        # source_file, source_row
        failures = con.execute(
            "select * exclude (run_id, detected_at) from audit.check_failures order by all"
        ).fetchall()
    finally:
        con.close()
    return outcomes, failures


def _comparable(outcome: CheckOutcome) -> dict:
    return dataclasses.asdict(outcome)


def assert_incremental_equals_full(
    settings: Settings, tmp_path: Path, now: dt.datetime, **kwargs
) -> tuple[dict[str, dict], list[tuple], list[str]]:
    """Run the suites incrementally on the warehouse and in full on a copy of it."""
    copy = tmp_path / "full_scan.duckdb"
    shutil.copyfile(settings.warehouse_path, copy)
    log: list[str] = []
    incremental = check_all(settings.warehouse_path, now, full_scan=False, log=log, **kwargs)
    full = check_all(copy, now, full_scan=True, **kwargs)
    assert incremental[1] == full[1], "the same failing rows"
    assert incremental[0] == full[0], "the same outcomes"
    return *incremental, log


def scans(log: list[str], check: str) -> list[str]:
    return [line for line in log if f".{check} " in line]


def test_incremental_checks_find_what_a_full_scan_finds(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # The runs jump a month ahead: no periodic full scan in between.
    monkeypatch.setenv("LEADSCORE_GX_FULL_SCAN_EVERY_DAYS", "0")
    landing = settings.landing_dir
    write_csv(
        landing / "crm" / "accounts.csv",
        [{"account_id": f"A{i}", "account_name": f"Account {i}"} for i in range(1, 4)],
    )
    contacts(landing, range(1, 21))

    # Batch 1: an orphan, an unknown type, a future time (at NOW), a missing type.
    activities(
        landing,
        "2026_03",
        range(1, 61),
        {
            3: {"contact_id": "GONE3"},
            4: {"activity_type": "podcast_listen"},
            5: {"occurred_at": "2026-03-31T13:30:00Z"},
            6: {"activity_type": ""},
        },
    )
    load_landing(settings)
    outcomes, failures, log = assert_incremental_equals_full(settings, tmp_path, NOW)
    assert all("full scan" in line for line in scans(log, "activity_id_unique"))
    assert {(f[1], f[3]) for f in failures if f[0] == "marketing_activities"} == {
        ("contact_id_references_contacts", "X00003"),
        ("activity_type_in_vocabulary", "X00004"),
        ("occurred_at_not_in_future", "X00005"),
        ("activity_type_not_null", "X00006"),
    }

    # Batch 2: a new file with a new orphan; upserts that fix two failing rows
    # (X00003 gets a known contact, X00004 a known type); a new contact.
    activities(
        landing,
        "2026_04",
        [*range(61, 71), 3, 4],
        {
            3: {"contact_id": "C001"},
            4: {"activity_type": "email_open"},
            63: {"contact_id": "GONE63"},
        },
    )
    contacts(landing, range(1, 22))
    load_landing(settings)
    outcomes, failures, log = assert_incremental_equals_full(settings, tmp_path, NOW)
    assert "incremental" in scans(log, "activity_id_unique")[0]
    assert "incremental" in scans(log, "contact_id_references_contacts")[0]
    orphans = {f[3] for f in failures if f[1] == "contact_id_references_contacts"}
    assert orphans == {"X00063"}
    assert not [f for f in failures if f[1] == "activity_type_in_vocabulary"]

    # Batch 3, written by another writer with a new load id: a row that
    # duplicates an old activity_id (the old row fails unique too); and a
    # contact deleted by hand, which orphans its old activities. Run later: the
    # future time of X00005 is in the past now and passes.
    api_write(
        settings,
        "select * replace ('api/activities' as _source_file, 1 as _source_row, "
        "(select max(load_id) from raw._load_log) as _load_id) "
        "from raw.marketing_activities where activity_id = 'X00010'",
    )
    execute(settings, "delete from raw.crm_contacts where contact_id = 'C012'")
    outcomes, failures, log = assert_incremental_equals_full(settings, tmp_path, LATER)
    assert "incremental" in scans(log, "activity_id_unique")[0]
    assert "incremental" in scans(log, "occurred_at_not_in_future")[0]
    assert "incremental" in scans(log, "contact_id_references_contacts")[0]
    duplicates = [f for f in failures if f[1] == "activity_id_unique"]
    assert [(f[3], f[6]) for f in duplicates] == [
        ("X00010", "api/activities"),
        ("X00010", "marketing/activities_2026_03.csv"),
    ]
    assert not outcomes["marketing_activities.activity_id_unique"]["success"]
    assert not [f for f in failures if f[1] == "occurred_at_not_in_future"]
    orphans = {f[5] for f in failures if f[1] == "contact_id_references_contacts"}
    assert orphans == {"GONE63", "C012"}

    # Batch 4: the old row of the duplicate is deleted by hand (the new one
    # passes again); a run with an earlier `now` (the bound narrows: a full
    # scan) finds X00005 in the future again.
    execute(
        settings,
        "delete from raw.marketing_activities "
        "where activity_id = 'X00010' and _source_file <> 'api/activities'",
    )
    outcomes, failures, log = assert_incremental_equals_full(settings, tmp_path, NOW)
    assert "full scan" in scans(log, "occurred_at_not_in_future")[0]
    assert "incremental" in scans(log, "activity_id_unique")[0]
    assert not [f for f in failures if f[1] == "activity_id_unique"]
    assert [f[3] for f in failures if f[1] == "occurred_at_not_in_future"] == ["X00005"]

    # Batch 5: a smaller skew narrows the bound (full scan); a changed suite
    # (another value set) scans that check in full.
    monkeypatch.setenv("LEADSCORE_MAX_FUTURE_SKEW_MINUTES", "10")
    suite = load_suite("marketing_activities")
    vocabulary = next(
        e for e in suite.expectations if e.meta["check_name"] == "activity_type_in_vocabulary"
    )
    vocabulary.value_set = [v for v in vocabulary.value_set if v != "email_open"]
    outcomes, failures, log = assert_incremental_equals_full(
        settings, tmp_path, NOW, marketing_activities={"suite": suite}
    )
    assert "full scan" in scans(log, "occurred_at_not_in_future")[0]
    assert "full scan" in scans(log, "activity_type_in_vocabulary")[0]
    assert "incremental" in scans(log, "contact_id_not_null")[0]
    assert [f[3] for f in failures if f[1] == "activity_type_in_vocabulary"] == ["X00004"]

    # Nothing new: every row-level check is incremental and still agrees.
    monkeypatch.setenv("LEADSCORE_MAX_FUTURE_SKEW_MINUTES", "60")
    outcomes, failures, log = assert_incremental_equals_full(settings, tmp_path, NOW)
    assert "incremental: " in scans(log, "occurred_at_not_in_future")[0]


def test_a_missing_watermark_or_the_env_var_forces_a_full_scan(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    landing = settings.landing_dir
    write_csv(
        landing / "crm" / "accounts.csv",
        [{"account_id": "A1", "account_name": "Account 1"}],
    )
    contacts(landing, range(1, 3))
    activities(landing, "2026_03", range(1, 5), {2: {"contact_id": "GONE"}})
    load_landing(settings)

    def unique_scan() -> str:
        log: list[str] = []
        con = connect(settings.warehouse_path)
        try:
            run_suite(con, "marketing_activities", run_id="r", now=NOW, log=log.append)
        finally:
            con.close()
        return scans(log, "activity_id_unique")[0]

    assert "full scan" in unique_scan()
    assert "incremental" in unique_scan()
    monkeypatch.setenv("LEADSCORE_GX_FULL_SCAN", "1")
    assert "full scan" in unique_scan()
    monkeypatch.delenv("LEADSCORE_GX_FULL_SCAN")
    execute(settings, "delete from audit.check_watermarks where check_name = 'activity_id_unique'")
    assert "full scan" in unique_scan()
    # A weekly full scan catches tables edited in place (no new load id).
    execute(
        settings, "update audit.check_watermarks set full_scan_at = full_scan_at - interval 8 day"
    )
    assert "full scan" in unique_scan()
