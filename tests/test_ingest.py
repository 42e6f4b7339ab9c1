"""Ingestion: landing files -> raw tables (SPEC section 2, issue: foundation)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration.ingest import ENTITIES, LoadFailed, ignored_files, load_entity, load_landing
from orchestration.resources import connect
from orchestration.settings import Settings

ACCOUNTS = (
    "account_id,account_name,domain,employee_count,annual_revenue,updated_at,crm_owner\n"
    "A1,Acme,acme.io,250,1000000.5,2026-01-01T00:00:00Z,alice\n"
    "A2,Beta,beta.com,12,,2026-01-01,bob\n"
)
CONTACTS = (
    "contact_id,email,created_at,account_id,first_name,email_opt_out,updated_at\n"
    "C1,ana@acme.io,2026-01-01T10:00:00+02:00,A1,Ana,Yes,2026-01-02\n"
    "C2,bo@beta.com,2026-01-02,A2,Bo,0,2026-01-02\n"
    'C3,cy@beta.com,2026-01-03 08:30:00,A2,"O\'Brien, Cy",,\n'
)
ACTIVITIES = (
    "activity_id,contact_id,activity_type,occurred_at,channel\n"
    "X1,C1,page_view,2026-01-05T10:00:00Z,web\n"
    "X2,C2,demo_request,2026-01-06T23:59:59,web\n"
)


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def landing(settings: Settings) -> Path:
    root = settings.landing_dir
    write(root / "crm" / "accounts.csv", ACCOUNTS)
    write(root / "crm" / "contacts.csv", CONTACTS)
    write(root / "marketing" / "activities_2026_01.csv", ACTIVITIES)
    return root


def query(settings: Settings, sql: str) -> list[tuple]:
    con = connect(settings.warehouse_path, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def table_hash(settings: Settings, table: str) -> str:
    rows = query(settings, f"select * exclude (_loaded_at) from {table} order by all")
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_loads_typed_rows_with_metadata_and_extra_columns(settings: Settings, landing: Path):
    loads = load_landing(settings)
    assert loads["crm_contacts"].table_rows == 3
    assert loads["crm_opportunities"].table_rows == 0  # absent file: valid, empty table
    (created_at, opt_out, source, row), *_ = query(
        settings,
        "select created_at, email_opt_out, _source_file, _source_row "
        "from raw.crm_contacts where contact_id = 'C1'",
    )
    # +02:00 offset converted to UTC; "Yes" is a boolean.
    assert str(created_at) == "2026-01-01 08:00:00"
    assert opt_out is True
    assert (source, row) == ("crm/contacts.csv", 1)
    assert query(settings, "select first_name from raw.crm_contacts where contact_id='C3'") == [
        ("O'Brien, Cy",)
    ]
    # Unknown extra columns are kept as text.
    assert query(settings, "select crm_owner, employee_count from raw.crm_accounts order by 1") == [
        ("alice", 250),
        ("bob", 12),
    ]
    # A value without an offset is UTC, not the host's zone.
    assert query(
        settings,
        "select cast(occurred_at as varchar) from raw.marketing_activities "
        "where activity_id = 'X2'",
    ) == [("2026-01-06 23:59:59",)]


def test_reload_of_same_files_changes_nothing(settings: Settings, landing: Path):
    load_landing(settings)
    before = {t: table_hash(settings, f"raw.{t}") for t in ENTITIES}
    counts = query(settings, "select count(*) from raw._load_log")
    # Touch every file: same content, new mtime -> still nothing loaded.
    for path in landing.rglob("*.csv"):
        path.write_bytes(path.read_bytes())
    second = load_landing(settings)
    assert all(load.rows_upserted == 0 for load in second.values())
    assert {t: table_hash(settings, f"raw.{t}") for t in ENTITIES} == before
    assert query(settings, "select count(*) from raw._load_log where row_count > 0") == counts


def test_an_earlier_version_restored_with_its_old_mtime_loads_again(
    settings: Settings, landing: Path
):
    contacts = landing / "crm" / "contacts.csv"
    load_landing(settings)
    original = contacts.stat()
    write(contacts, "contact_id,email,created_at\nC1,changed@acme.io,2026-01-01\n")
    load_landing(settings)
    # the backup copied back with its timestamps (cp -p, rsync -t)
    write(contacts, CONTACTS)
    os.utime(contacts, ns=(original.st_atime_ns, original.st_mtime_ns))
    loads = load_landing(settings)
    assert loads["crm_contacts"].files_loaded == ["crm/contacts.csv"]
    assert query(settings, "select email from raw.crm_contacts where contact_id = 'C1'") == [
        ("ana@acme.io",)
    ]


def test_a_copy_of_a_loaded_file_under_a_new_name_is_skipped(settings: Settings, landing: Path):
    """SPEC section 2: loading the same file twice changes nothing, whatever its
    name. A copy of an earlier activities file was loaded again and, being the
    later file, reverted the row a later file had corrected (found by the
    acceptance audit). It is skipped, recorded, and logged naming both files."""
    (landing / "marketing" / "activities_2026_01.csv").unlink()
    header = "activity_id,contact_id,activity_type,occurred_at\n"
    first = write(
        landing / "marketing" / "activities_a.csv",
        header + "X1,C1,pricing_page_view,2026-01-05T10:00:00Z\n",
    )
    load_landing(settings)
    # a warehouse from before audit.duplicate_files gets the table on its next load
    con = connect(settings.warehouse_path)
    try:
        con.execute("drop table audit.duplicate_files")
    finally:
        con.close()
    write(
        landing / "marketing" / "activities_d.csv",
        header + "X1,C1,page_view,2026-01-05T10:00:00Z\n",
    )
    load_landing(settings)
    copy = write(landing / "marketing" / "activities_a_copy.csv", first.read_bytes())
    messages: list[str] = []
    loads = load_landing(settings, log=messages.append)
    activities = loads["marketing_activities"]
    assert query(
        settings, "select activity_type from raw.marketing_activities where activity_id = 'X1'"
    ) == [("page_view",)]
    assert activities.files_loaded == []
    assert activities.files_duplicate == {
        "marketing/activities_a_copy.csv": "marketing/activities_a.csv"
    }
    assert "marketing/activities_a_copy.csv" in activities.files_skipped
    assert (
        "marketing_activities: marketing/activities_a_copy.csv: identical to "
        "marketing/activities_a.csv, already loaded; skipped"
    ) in messages
    assert query(settings, "select source_file, duplicate_of from audit.duplicate_files") == [
        ("marketing/activities_a_copy.csv", "marketing/activities_a.csv")
    ]
    assert query(
        settings, "select count(*) from raw._load_log where source_file like '%copy%'"
    ) == [(0,)]
    # The next run skips the copy by size and mtime, without reading it or recording it again.
    messages.clear()
    again = load_landing(settings, log=messages.append)["marketing_activities"]
    assert again.files_duplicate == {
        "marketing/activities_a_copy.csv": "marketing/activities_a.csv"
    }
    assert not messages
    assert query(settings, "select count(*) from audit.duplicate_files") == [(1,)]
    # The copy changed is a file of its own: loaded (the later file wins).
    write(copy, header + "X1,C1,demo_request,2026-01-05T10:00:00Z\n")
    assert load_landing(settings)["marketing_activities"].files_loaded == [
        "marketing/activities_a_copy.csv"
    ]
    assert query(
        settings, "select activity_type from raw.marketing_activities where activity_id = 'X1'"
    ) == [("demo_request",)]


def test_a_grown_file_does_not_revert_what_a_later_file_corrected(
    settings: Settings, landing: Path, tmp_path: Path
):
    """A file loaded before that changes (a monthly file that grows every day)
    loads again as the later delivery, but its rows that did not change are
    no news: they do not revert the rows a file loaded since corrected
    (found by the SPEC audit: two warehouses loaded from one landing folder,
    one file after the other and at once, scored a contact 8.78 cold and
    64.24 warm). Where files sort by name in the order they were delivered,
    as here, both warehouses now hold the same rows."""
    (landing / "marketing" / "activities_2026_01.csv").unlink()
    header = "activity_id,contact_id,activity_type,occurred_at\n"
    monthly = landing / "marketing" / "activities_a.csv"
    write(
        monthly,
        header + "X1,C1,pricing_page_view,2026-01-05T10:00:00Z\nX2,C2,page_view,2026-01-06\n",
    )
    load_landing(settings)
    # the correction, in a later file with a column the first one lacks
    write(
        landing / "marketing" / "activities_b.csv",
        header.rstrip("\n") + ",campaign_id\nX1,C1,page_view,2026-01-05T10:00:00Z,K1\n",
    )
    load_landing(settings)
    write(monthly, monthly.read_text() + "X3,C1,demo_request,2026-01-07\n")
    messages: list[str] = []
    grown = load_landing(settings, log=messages.append)["marketing_activities"]
    assert grown.files_loaded == ["marketing/activities_a.csv"]
    assert (grown.rows_in_files, grown.rows_upserted, grown.rows_kept_unchanged) == (3, 2, 1)
    assert (
        "marketing_activities: marketing/activities_a.csv: 3 rows, 2 upserted, "
        "1 kept as a later file replaced them (unchanged in this file)"
    ) in messages
    rows = (
        "select activity_id, activity_type, _source_file from raw.marketing_activities order by 1"
    )
    assert query(settings, rows) == [
        ("X1", "page_view", "marketing/activities_b.csv"),
        ("X2", "page_view", "marketing/activities_a.csv"),
        ("X3", "demo_request", "marketing/activities_a.csv"),
    ]
    # a warehouse loading the same folder at once holds the same rows
    fresh = dataclasses.replace(settings, warehouse_path=tmp_path / "fresh.duckdb")
    load_landing(fresh)
    assert query(fresh, rows) == query(settings, rows)
    # a row that changes in the grown file is news again: the later delivery wins
    write(monthly, monthly.read_text().replace("pricing_page_view", "webinar_attend"))
    again = load_landing(settings)["marketing_activities"]
    assert (again.rows_upserted, again.rows_kept_unchanged) == (3, 0)
    assert query(settings, rows)[0] == ("X1", "webinar_attend", "marketing/activities_a.csv")


def test_a_grown_file_is_compared_without_column_case_and_counted_once(
    settings: Settings, landing: Path
):
    """Review of the rule above: a file spelling a column `Campaign_ID` (stored
    in the contract's `campaign_id`) is compared with what it replaced all
    the same, and a row that loses on updated_at as well is counted once."""
    (landing / "marketing" / "activities_2026_01.csv").unlink()
    monthly = landing / "marketing" / "activities_a.csv"
    header = "activity_id,contact_id,activity_type,occurred_at,Campaign_ID,updated_at\n"
    write(
        monthly,
        header
        + "X1,C1,pricing_page_view,2026-01-05,K0,2026-01-05\n"
        + "X2,C2,page_view,2026-01-06,K0,2026-01-06\n",
    )
    load_landing(settings)
    write(
        landing / "marketing" / "activities_b.csv",
        "activity_id,contact_id,activity_type,occurred_at,updated_at\n"
        "X1,C1,page_view,2026-01-05,2026-01-08\n"
        "X2,C2,page_view,2026-01-06,2026-01-06\n",
    )
    load_landing(settings)
    write(monthly, monthly.read_text() + "X3,C1,demo_request,2026-01-07,K0,2026-01-07\n")
    grown = load_landing(settings)["marketing_activities"]
    # X1 loses on updated_at and is unchanged; X2 (same updated_at) is unchanged
    assert (grown.rows_in_files, grown.rows_upserted) == (3, 1)
    assert (grown.rows_kept_newer, grown.rows_kept_unchanged) == (1, 1)
    assert query(
        settings,
        "select row_count, rows_upserted from raw._load_log "
        "where source_file = 'marketing/activities_a.csv' order by load_id desc limit 1",
    ) == [(3, 1)]
    assert query(
        settings, "select activity_id, _source_file from raw.marketing_activities order by 1"
    ) == [
        ("X1", "marketing/activities_b.csv"),
        ("X2", "marketing/activities_b.csv"),
        ("X3", "marketing/activities_a.csv"),
    ]


def test_a_restored_version_loads_again_though_a_copy_holds_it(settings: Settings, landing: Path):
    """An earlier version of a file restored under its own name is a change to
    load again (the restore rule), also when a copy of it lies beside it, or
    was loaded as a file of its own (a warehouse from before copies were
    skipped)."""
    header = "activity_id,contact_id,activity_type,occurred_at\n"
    original = header + "X1,C1,pricing_page_view,2026-01-05T10:00:00Z\n"
    path = write(landing / "marketing" / "activities_2026_02.csv", original)
    write(landing / "marketing" / "activities_2026_03.csv", original)
    loads = load_landing(settings)["marketing_activities"]
    assert loads.files_duplicate == {
        "marketing/activities_2026_03.csv": "marketing/activities_2026_02.csv"
    }
    for legacy in (False, True):
        if legacy:
            con = connect(settings.warehouse_path)
            try:
                con.execute(
                    "insert into raw._load_log select load_id + 100, entity, "
                    "'marketing/activities_2026_03.csv', size_bytes, mtime_ns, sha256, "
                    "row_count, rows_upserted, loaded_at from raw._load_log "
                    "where source_file = 'marketing/activities_2026_02.csv' and row_count = 1 "
                    "order by load_id limit 1"
                )
            finally:
                con.close()
        write(path, header + "X1,C1,page_view,2026-01-05T10:00:00Z\n")
        assert load_landing(settings)["marketing_activities"].files_loaded == [
            "marketing/activities_2026_02.csv"
        ]
        write(path, original)
        assert load_landing(settings)["marketing_activities"].files_loaded == [
            "marketing/activities_2026_02.csv"
        ]
        assert query(
            settings, "select activity_type from raw.marketing_activities where activity_id = 'X1'"
        ) == [("pricing_page_view",)]


def test_upsert_latest_updated_at_wins_and_later_file_wins(settings: Settings, landing: Path):
    load_landing(settings)
    # Re-delivered contacts: C1 newer (wins), C2 older (loses), C4 new.
    write(
        landing / "crm" / "contacts.csv",
        "contact_id,email,created_at,updated_at\n"
        "C1,ana.new@acme.io,2026-01-01,2026-02-01\n"
        "C2,bo.old@beta.com,2026-01-02,2025-12-01\n"
        "C4,dee@acme.io,2026-02-01,2026-02-01\n",
    )
    # A later activities file re-delivers X1: the later file wins.
    write(
        landing / "marketing" / "activities_2026_02.csv",
        "activity_id,contact_id,activity_type,occurred_at\nX1,C1,pricing_page_view,2026-01-05\n",
    )
    loads = load_landing(settings)
    assert loads["crm_contacts"].rows_kept_newer == 1
    emails = dict(query(settings, "select contact_id, email from raw.crm_contacts"))
    assert emails == {
        "C1": "ana.new@acme.io",
        "C2": "bo@beta.com",
        "C3": "cy@beta.com",
        "C4": "dee@acme.io",
    }
    assert query(
        settings, "select activity_type from raw.marketing_activities where activity_id = 'X1'"
    ) == [("pricing_page_view",)]


def test_rows_moved_to_another_contact_are_recorded(settings: Settings, landing: Path):
    """A re-delivered row whose contact changes names the contact it left in
    raw._contact_moves (the bot flags re-evaluate that contact); a row that
    keeps its contact, or loses to a newer stored version, is not a move."""
    write(
        landing / "crm" / "opportunities.csv",
        "opportunity_id,account_id,created_at,contact_id,updated_at\n"
        "O1,A1,2026-01-10,C1,2026-01-10\n"
        "O2,A2,2026-01-10,C2,2026-01-10\n"
        "O3,A2,2026-01-10,C3,2026-01-10\n"
        "O4,A2,2026-01-10,,2026-01-10\n",
    )
    load_landing(settings)
    assert query(settings, "select count(*) from raw._contact_moves") == [(0,)]
    write(
        landing / "marketing" / "activities_2026_02.csv",
        "activity_id,contact_id,activity_type,occurred_at\n"
        "X1,C3,page_view,2026-01-05T10:00:00Z\n"  # moved from C1
        "X2,C2,demo_request,2026-01-06T23:59:59\n"  # the same contact
        "X3,C1,page_view,2026-02-01\n",  # new
    )
    write(
        landing / "crm" / "opportunities.csv",
        "opportunity_id,account_id,created_at,contact_id,updated_at\n"
        "O1,A1,2026-01-10,C2,2026-02-01\n"  # moved from C1
        "O2,A2,2026-01-10,,2026-02-01\n"  # its contact removed
        "O3,A2,2026-01-10,C1,2025-12-01\n"  # older than the stored row: loses
        "O4,A2,2026-01-10,C3,2026-02-01\n",  # no contact before
    )
    load_landing(settings)
    moves = query(
        settings,
        "select m.entity, m.row_id, m.old_contact_id, m.new_contact_id, l.source_file "
        "from raw._contact_moves as m join raw._load_log as l using (load_id) order by 1, 2",
    )
    assert moves == [
        ("crm_opportunities", "O1", "C1", "C2", "crm/opportunities.csv"),
        ("crm_opportunities", "O2", "C2", None, "crm/opportunities.csv"),
        ("crm_opportunities", "O4", None, "C3", "crm/opportunities.csv"),
        ("marketing_activities", "X1", "C1", "C3", "marketing/activities_2026_02.csv"),
    ]


def test_parquet_and_jsonl_landing_files(settings: Settings, landing: Path):
    pq.write_table(
        pa.table(
            {
                "activity_id": ["P1"],
                "contact_id": ["C1"],
                "activity_type": ["webinar_attend"],
                "occurred_at": pa.array([1767614400000000], pa.timestamp("us", tz="UTC")),
            }
        ),
        landing / "marketing" / "activities_p.parquet",
    )
    write(
        landing / "marketing" / "activities_j.jsonl",
        '{"activity_id": "J1", "contact_id": "C2", "activity_type": "email_open", '
        '"occurred_at": "2026-01-07T12:00:00-05:00"}\n',
    )
    load_landing(settings)
    rows = dict(
        query(
            settings,
            "select activity_id, cast(occurred_at as varchar) from raw.marketing_activities",
        )
    )
    assert rows["P1"] == "2026-01-05 12:00:00"
    assert rows["J1"] == "2026-01-07 17:00:00"


def test_empty_values_are_null_in_every_format(settings: Settings, landing: Path, run_dbt):
    """An empty value is null whether it came as an empty CSV cell, "" in JSON lines or
    '' in Parquet. A JSON export's "" campaign_id was stored as '', so a click matched a
    send of "campaign ''" and was flagged as a scanner's (found by differential testing).
    Staging reads the '' that an earlier version stored as null too."""
    columns = ["activity_id", "contact_id", "activity_type", "occurred_at", "campaign_id"]
    columns += ["url", "user_agent", "note"]
    rows = [
        ["S1", "C1", "email_send", "2026-01-05T10:00:00Z", "", "", "", ""],
        ["K1", "C1", "email_click", "2026-01-05T10:00:03Z", "", "", "Mozilla/5.0", "x"],
    ]
    csv_text = (
        ",".join(columns) + "\n"
        "S1,C1,email_send,2026-01-05T10:00:00Z,,,,\n"
        # a quoted empty cell reads as an empty one
        'K1,C1,email_click,2026-01-05T10:00:03Z,"",,Mozilla/5.0,x\n'
    )
    jsonl = "".join(
        "{" + ", ".join(f'"{c}": "{v}"' for c, v in zip(columns, r, strict=True)) + "}\n"
        for r in rows
    )
    parquet = pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)})
    (landing / "marketing" / "activities_2026_01.csv").unlink()

    results = {}
    for kind in ("csv", "jsonl", "parquet"):
        if settings.warehouse_path.exists():
            settings.warehouse_path.unlink()
        for old in (landing / "marketing").glob("activities_e.*"):
            old.unlink()
        target = landing / "marketing" / f"activities_e.{kind}"
        if kind == "csv":
            write(target, csv_text)
        elif kind == "jsonl":
            write(target, jsonl)
        else:
            pq.write_table(parquet, target)
        load_landing(settings)
        results[kind] = query(
            settings,
            "select * exclude (_source_file, _loaded_at, _load_id) "
            "from raw.marketing_activities order by all",
        )
    assert results["jsonl"] == results["csv"]
    assert results["parquet"] == results["csv"]
    assert query(
        settings,
        "select activity_id, campaign_id, url, user_agent, note "
        "from raw.marketing_activities order by 1",
    ) == [("K1", None, None, "Mozilla/5.0", "x"), ("S1", None, None, None, None)]

    # rows an earlier version stored with '' (the loading no longer does)
    con = connect(settings.warehouse_path)
    try:
        con.execute(
            "update raw.marketing_activities set campaign_id = '', url = '', "
            "user_agent = '', channel = ''"
        )
    finally:
        con.close()
    run_dbt("run", "--select", "stg_marketing__activities")
    assert query(
        settings,
        "select count(*) from staging.stg_marketing__activities where campaign_id is null "
        "and url is null and user_agent is null and channel is null",
    ) == [(2,)]


BAD_FILES = [
    pytest.param(
        "contacts.csv",
        "contact_id,created_at\nC9,2026-01-01\n",
        r"crm/contacts.csv, row 0, column 'email': missing required column\(s\) \['email'\]",
        id="missing-required-column",
    ),
    pytest.param(
        "contacts.csv",
        "contact_id,email,created_at\nC8,a@b.io,2026-01-01\nC9,c@d.io,yesterday\n",
        r"crm/contacts.csv, row 2, column 'created_at': value 'yesterday' is not an ISO 8601",
        id="unparseable-timestamp",
    ),
    pytest.param(
        "contacts.csv",
        "contact_id,email,created_at\nC8,a@b.io,2026-01-01\nC9,c@d.io,2026-01-01\n"
        "C8,e@f.io,2026-01-02\n",
        r"crm/contacts.csv, row 3, column 'contact_id': duplicate id 'C8' on rows \[1, 3\]",
        id="duplicate-id",
    ),
    pytest.param(
        "contacts.csv",
        "contact_id,email,created_at\nC8,jos\xe9@b.io,2026-01-01\n".encode("latin-1"),
        r"crm/contacts.csv, row 1, column 'email': not valid UTF-8 \(byte 0xe9 on line 2\)",
        id="not-utf8",
    ),
    pytest.param(
        "contacts.csv",
        b"",
        r"crm/contacts.csv: file is empty \(zero bytes\)",
        id="empty-file",
    ),
    # DuckDB's cast takes these words (1970, 9999, year 1): never an ISO timestamp
    *[
        pytest.param(
            "contacts.csv",
            f"contact_id,email,created_at\nC8,a@b.io,2026-01-01\nC9,c@d.io,{word}\n",
            rf"crm/contacts.csv, row 2, column 'created_at': value '{word}' is not an ISO 8601",
            id=f"timestamp-word-{word}",
        )
        for word in ("epoch", "infinity", "-infinity")
    ],
    # DuckDB's cast reads these too: offsets beyond 23:59 (moved by days, silently),
    # zone names, a one-digit day, a BC suffix; none is ISO 8601
    *[
        pytest.param(
            "contacts.csv",
            f'contact_id,email,created_at\nC8,a@b.io,2026-01-01\nC9,c@d.io,"{value}"\n',
            rf"crm/contacts.csv, row 2, column 'created_at': value '{re.escape(value)}' is not "
            "an ISO 8601",
            id=f"timestamp-not-iso-{value}",
        )
        for value in (
            "2026-11-01T10:00:00+25:00",
            "2026-11-01T10:00:00-30:00",
            "2026-11-01T10:00:00+05:99",
            "2026-11-01T10:00:00+05:30:30",
            "2026-11-01 10:00:00 America/New_York",
            "2026-11-01 10:00:00 PST",
            "2026-11-1",
            "2026-11-01 (BC)",
            # an hour alone and a decimal comma load, but no more than ISO 8601 writes
            "2026-11-01 10",
            "2026-11-01T1",
            "2026-11-01T10+24:00",
            "2026-11-01T10 PST",
            "2026-11-01T10,5",
            "2026-11-01T10:00:00,",
            "2026-11-01T10:00:00,5,5",
            "20261101T10:00",
            "20261101T1000,5",
        )
    ],
    # ISO's basic form is read, but a month 13 is still no date
    pytest.param(
        "contacts.csv",
        "contact_id,email,created_at\nC8,a@b.io,20260101\nC9,c@d.io,20261301T100000Z\n",
        r"crm/contacts.csv, row 2, column 'created_at': value '20261301T100000Z' is not an ISO",
        id="basic-form-bad-month",
    ),
    pytest.param(
        "contacts.csv",
        "contact_id,email,created_at,_source_file\nC8,a@b.io,2026-01-01,export-7\n",
        r"crm/contacts.csv, row 0, column '_source_file': column name '_source_file' is reserved",
        id="reserved-column-name",
    ),
    # DuckDB compares names without case: its CSV reader stopped on a raw binder error
    pytest.param(
        "contacts.csv",
        "contact_id,email,created_at,Email\nC8,a@b.io,2026-01-01,A@B.IO\n",
        r"crm/contacts.csv, row 0, column 'Email': the header names this column twice "
        r"\(column names are compared without case: 'email', 'Email'\)",
        id="column-named-twice-without-case",
    ),
    pytest.param(
        "contacts.csv",
        "contact_id,email,created_at,email\nC8,a@b.io,2026-01-01,c@d.io\n",
        r"crm/contacts.csv, row 0, column 'email': the header names this column twice$",
        id="column-named-twice",
    ),
    pytest.param(
        "accounts.csv",
        "account_id,account_name,employee_count\nA1,Acme,many\n",
        r"crm/accounts.csv, row 1, column 'employee_count': value 'many' is not a whole number",
        id="bad-number",
    ),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD_FILES)
def test_bad_file_is_rejected_whole_with_file_row_column(
    settings: Settings, landing: Path, name: str, content: str | bytes, message: str
):
    load_landing(settings)
    before = table_hash(settings, f"raw.crm_{name.split('.')[0]}")
    bad = write(landing / "crm" / name, content)
    with pytest.raises(LoadFailed, match=message):
        load_landing(settings)
    # Nothing of the file was loaded, the file is still there, the reject is recorded.
    assert table_hash(settings, f"raw.crm_{name.split('.')[0]}") == before
    assert bad.exists()
    rejected = query(settings, "select source_file, message from audit.rejected_files")
    assert rejected[-1][0] == f"crm/{name}"


def test_a_byte_that_is_not_utf8_is_placed_in_its_csv_row_and_column(
    settings: Settings, landing: Path, monkeypatch: pytest.MonkeyPatch
):
    # Rows count records (a quoted line break does not shift them); a byte
    # that starts a field or a line is still placed; one in the header has no
    # column; a character split across the reader's chunks is not blamed.
    import orchestration.ingest as ingest

    path = landing / "marketing" / "activities_2026_01.csv"
    header = "activity_id,contact_id,activity_type,occurred_at,url\n"
    first = 'X1,C1,page_view,2026-01-05T10:00:00Z,"two\nlines"\n'
    for text, row, column, line in [
        (header + first + "X2,C1,page_view,2026-01-05T11:00:00Z,https://a.io/\xe9\n", 2, "url", 4),
        (header + first + "X2,\xe9C1,page_view,2026-01-05T11:00:00Z,\n", 2, "contact_id", 4),
        (header + first + "\xe9X2,C1,page_view,2026-01-05T11:00:00Z,\n", 2, "activity_id", 4),
        ("activity_id,contact_id,activity_type,occurred_\xe9t,url\n" + first, 0, None, 1),
    ]:
        write(path, text.encode("latin-1"))
        where = f"row {row}" + (f", column '{column}'" if column else "")
        with pytest.raises(
            LoadFailed,
            match=rf"activities_2026_01\.csv, {where}: not valid UTF-8 "
            rf"\(byte 0xe9 on line {line}\)",
        ):
            load_landing(settings)
        assert query(
            settings,
            "select source_row, column_name from audit.rejected_files "
            "order by rejected_at desc limit 1",
        ) == [(row, column)]
    # A valid two-byte character split by the chunk boundary, then a bad byte.
    filler = "X1,C1,page_view,2026-01-05T10:00:00Z,https://a.io/" + "a" * 4000 + "\n"
    text = header + filler * 1200
    chunk = 1 << 22
    cut = text.encode("utf-8")[: chunk - 1]
    data = cut + "é".encode() + b"\n" + b"X2,\xe9,page_view,2026-01-05T11:00:00Z,\n"
    path.write_bytes(data)
    rows = cut.count(b"\n")
    with pytest.raises(
        LoadFailed, match=rf"row {rows + 1}, column 'contact_id': not valid UTF-8 \(byte 0xe9 on"
    ):
        load_landing(settings)
    # Deeper into a file than the CSV parse goes, or after a value longer than
    # Python's csv module reads, the line alone names it.
    monkeypatch.setattr(ingest, "_PLACE_BAD_BYTE_WITHIN", 1 << 20)
    with pytest.raises(LoadFailed, match=r"activities_2026_01\.csv: not valid UTF-8 \(byte 0xe9"):
        load_landing(settings)
    monkeypatch.undo()
    long_value = header + 'X1,C1,page_view,2026-01-05T10:00:00Z,"' + "a" * 200_000 + '"\n'
    write(path, (long_value + "X2,\xe9,page_view,2026-01-05T11:00:00Z,\n").encode("latin-1"))
    with pytest.raises(
        LoadFailed, match=r"activities_2026_01\.csv: not valid UTF-8 \(byte 0xe9 on line 3\)"
    ):
        load_landing(settings)


def test_first_load_of_bad_file_loads_nothing(settings: Settings, landing: Path):
    write(landing / "crm" / "contacts.csv", "contact_id,email,created_at\nC1,a@b.io,never\n")
    with pytest.raises(LoadFailed):
        load_landing(settings)
    assert query(settings, "select count(*) from raw.crm_contacts") == [(0,)]
    # The other entities' good files were still loaded.
    assert query(settings, "select count(*) from raw.crm_accounts") == [(2,)]


def test_missing_required_entity_and_ambiguous_files(settings: Settings, landing: Path):
    (landing / "crm" / "contacts.csv").unlink()
    with pytest.raises(LoadFailed, match=r"crm/contacts\.\*: required landing file is missing"):
        load_landing(settings)
    write(landing / "crm" / "contacts.csv", CONTACTS)
    write(landing / "crm" / "contacts.jsonl", '{"contact_id": "C1"}\n')
    con = connect(settings.warehouse_path)
    try:
        with pytest.raises(LoadFailed, match="more than one file"):
            load_entity(con, landing, ENTITIES["crm_contacts"])
    finally:
        con.close()


def test_a_reserved_column_name_rejects_only_its_file(settings: Settings, landing: Path):
    """A column named like the load bookkeeping (any case) is one rejected file, not a
    crashed load: the entity's other files still load."""
    write(
        landing / "marketing" / "activities_2026_02.csv",
        "activity_id,contact_id,activity_type,occurred_at,_Load_Id\n"
        "X9,C1,page_view,2026-02-01T10:00:00Z,7\n",
    )
    with pytest.raises(LoadFailed, match="column name '_Load_Id' is reserved"):
        load_landing(settings)
    assert query(settings, "select activity_id from raw.marketing_activities order by 1") == [
        ("X1",),
        ("X2",),
    ]
    assert query(settings, "select source_file, column_name from audit.rejected_files") == [
        ("marketing/activities_2026_02.csv", "_Load_Id")
    ]


def write_activities(path: Path, columns: list[str], rows: list[list[str]]) -> None:
    """An activities file of text columns in the format its suffix names."""
    if path.suffix == ".parquet":
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = [pa.array([row[i] for row in rows]) for i in range(len(columns))]
        pq.write_table(pa.Table.from_arrays(arrays, names=columns), path)
    elif path.suffix == ".jsonl":
        write(
            path, "".join(json.dumps(dict(zip(columns, row, strict=True))) + "\n" for row in rows)
        )
    else:
        write(path, "".join(",".join(line) + "\n" for line in [columns, *rows]))


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
def test_a_column_named_twice_without_case_rejects_only_its_file(
    settings: Settings, landing: Path, kind: str
):
    """Column names are compared without case (DuckDB's and the raw tables'):
    `channel` and `Channel` in one file stopped a CSV with DuckDB's raw binder
    error, and a JSON lines or Parquet file loaded the second one silently
    renamed `Channel_1` (found by the acceptance audit). The file is rejected
    naming the column; the entity's other files still load. `channel_1`
    beside `channel` is two columns."""
    path = landing / "marketing" / f"activities_2026_02.{kind}"
    columns = ["activity_id", "contact_id", "activity_type", "occurred_at", "channel", "Channel"]
    row = ["X9", "C1", "page_view", "2026-02-01T10:00:00Z", "web", "email"]
    write_activities(path, columns, [row])
    with pytest.raises(
        LoadFailed,
        match=rf"marketing/activities_2026_02\.{kind}, row 0, column 'Channel': the "
        r"(header|JSON objects|Parquet schema) names this column twice \(column names are "
        r"compared without case: 'channel', 'Channel'\)",
    ):
        load_landing(settings)
    assert query(settings, "select activity_id from raw.marketing_activities order by 1") == [
        ("X1",),
        ("X2",),
    ]
    assert query(
        settings, "select source_file, source_row, column_name from audit.rejected_files"
    ) == [(f"marketing/activities_2026_02.{kind}", 0, "Channel")]

    write_activities(path, [*columns[:-1], "channel_1"], [row])
    load_landing(settings)
    assert query(
        settings,
        "select channel, channel_1 from raw.marketing_activities where activity_id = 'X9'",
    ) == [("web", "email")]


def test_an_extra_column_spelled_otherwise_by_a_later_file_is_the_same_column(
    settings: Settings, landing: Path
):
    """A later file's CRM_Owner is the crm_owner an earlier file added (DuckDB
    compares names without case): adding it again stopped the whole load with
    DuckDB's 'already exists'."""
    columns = ["activity_id", "contact_id", "activity_type", "occurred_at"]
    write_activities(
        landing / "marketing" / "activities_2026_02.csv",
        [*columns, "crm_owner"],
        [["X8", "C1", "page_view", "2026-02-01T10:00:00Z", "ann"]],
    )
    load_landing(settings)
    write_activities(
        landing / "marketing" / "activities_2026_03.csv",
        [*columns, "CRM_Owner"],
        [["X9", "C1", "page_view", "2026-03-01T10:00:00Z", "bob"]],
    )
    load_landing(settings)
    assert query(
        settings,
        "select activity_id, crm_owner from raw.marketing_activities "
        "where activity_id in ('X8', 'X9') order by 1",
    ) == [("X8", "ann"), ("X9", "bob")]


def test_csv_with_byte_order_mark_and_quoted_header_loads(settings: Settings, landing: Path):
    """Excel and many CRM exports write a BOM and quote every header name."""
    write(
        landing / "crm" / "contacts.csv",
        b'\xef\xbb\xbf"contact_id","email","created_at","account_id"\r\n'
        b'"C1","ana@acme.io","2026-01-01","A1"\r\n'
        b'"C2","bo@beta.com","2026-01-02","A2"\r\n',
    )
    load_landing(settings)
    assert query(
        settings, "select contact_id, email, account_id from raw.crm_contacts order by 1"
    ) == [("C1", "ana@acme.io", "A1"), ("C2", "bo@beta.com", "A2")]


def test_iso_8601_basic_form_and_lower_case_designators_load(settings: Settings, landing: Path):
    """SPEC section 2: timestamps are ISO 8601. Besides the extended form,
    the basic form (20261201T100000Z, with or without seconds or an offset,
    or a date alone) and a lower-case t / z (RFC 3339) load, stored as UTC.
    So do an hour alone (2026-12-01T10, with or without an offset) and a
    decimal comma (10:00:00,5), in both forms: they were rejected as not
    ISO 8601 (found by the acceptance audit)."""
    write(
        landing / "marketing" / "activities_2026_01.csv",
        "activity_id,contact_id,activity_type,occurred_at\n"
        "X1,C1,page_view,20261201T100000Z\n"
        "X2,C1,page_view,20261201T100000.5+0100\n"
        "X3,C1,page_view,20261201T1000-02\n"
        "X4,C1,page_view,20261201\n"
        "X5,C1,page_view,2026-12-01t10:00:00z\n"
        "X6,C1,page_view,2026-12-01T10:00:00+01:00\n"
        "Y1,C1,page_view,2026-12-01T10\n"
        "Y2,C1,page_view,2026-12-01T10Z\n"
        "Y3,C1,page_view,2026-12-01T10+02:00\n"
        "Y4,C1,page_view,2026-12-01t10-0230\n"
        'Y5,C1,page_view,"2026-12-01T10:00:00,5Z"\n'
        "Y6,C1,page_view,20261201T10\n"
        "Y7,C1,page_view,20261201T10+02\n"
        'Y8,C1,page_view,"20261201T100000,25+0100"\n',
    )
    load_landing(settings)
    assert query(
        settings,
        "select activity_id, cast(occurred_at as varchar) from raw.marketing_activities "
        "order by activity_id",
    ) == [
        ("X1", "2026-12-01 10:00:00"),
        ("X2", "2026-12-01 09:00:00.5"),
        ("X3", "2026-12-01 12:00:00"),
        ("X4", "2026-12-01 00:00:00"),
        ("X5", "2026-12-01 10:00:00"),
        ("X6", "2026-12-01 09:00:00"),
        ("Y1", "2026-12-01 10:00:00"),
        ("Y2", "2026-12-01 10:00:00"),
        ("Y3", "2026-12-01 08:00:00"),
        ("Y4", "2026-12-01 12:30:00"),
        ("Y5", "2026-12-01 10:00:00.5"),
        ("Y6", "2026-12-01 10:00:00"),
        ("Y7", "2026-12-01 08:00:00"),
        ("Y8", "2026-12-01 09:00:00.25"),
    ]


def test_header_only_file_is_valid(settings: Settings, landing: Path):
    write(landing / "crm" / "opportunities.csv", "opportunity_id,account_id,created_at\n")
    loads = load_landing(settings)
    assert loads["crm_opportunities"].table_rows == 0


def test_staging_row_counts_equal_raw_distinct_ids(settings: Settings, landing: Path, run_dbt):
    load_landing(settings)
    run_dbt(
        "run",
        "--select",
        "stg_crm__accounts stg_crm__contacts stg_crm__opportunities stg_marketing__activities",
    )
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        for entity in ENTITIES.values():
            staged = entity.name.replace("crm_", "stg_crm__").replace(
                "marketing_", "stg_marketing__"
            )
            raw = con.execute(f"select count(distinct {entity.key}) from {entity.table}").fetchone()
            stg = con.execute(f"select count(*) from staging.{staged}").fetchone()
            assert raw == stg, entity.name
        # Optional columns missing from the export are typed nulls in staging.
        phone_type = con.execute(
            "select data_type from information_schema.columns "
            "where table_schema = 'staging' and table_name = 'stg_crm__contacts' "
            "and column_name = 'phone'"
        ).fetchone()
        assert phone_type == ("VARCHAR",)
    finally:
        con.close()


def test_typed_parquet_loads_like_the_same_data_as_csv(settings: Settings, landing: Path, tmp_path):
    """Parquet columns already of the contract type skip the text route: same rows as CSV."""
    contacts = pa.table(
        {
            "contact_id": [" C1", "C2", "C3"],
            "email": ["ana@acme.io", "bo@beta.com", None],
            "created_at": pa.array(
                [1767254400123456, 1767312000000000, None], pa.timestamp("us", tz="UTC")
            ),
            "email_opt_out": [True, False, None],
            "updated_at": pa.array([1767312000000, None, 1767398400000], pa.timestamp("ms")),
            "score": pa.array([1.5, None, 3], pa.float64()),
        }
    )
    csv_text = (
        "contact_id,email,created_at,email_opt_out,updated_at,score\n"
        " C1,ana@acme.io,2026-01-01 08:00:00.123456,true,2026-01-02,1.5\n"
        "C2,bo@beta.com,2026-01-02T00:00:00Z,false,,\n"
        "C3,,,,2026-01-03,3.0\n"
    )
    accounts = pa.table(
        {
            "account_id": ["A1", "A2"],
            "account_name": ["Acme", "Beta"],
            "employee_count": pa.array([250, None], pa.int32()),
            "annual_revenue": pa.array([1000000, 12], pa.int64()),
        }
    )
    accounts_csv = (
        "account_id,account_name,employee_count,annual_revenue\nA1,Acme,250,1000000\nA2,Beta,,12\n"
    )

    def loaded(table: str) -> list[tuple]:
        return query(
            settings,
            f"select * exclude (_source_file, _loaded_at, _load_id) from {table} order by all",
        )

    (landing / "crm" / "contacts.csv").unlink()
    (landing / "crm" / "accounts.csv").unlink()
    pq.write_table(contacts, landing / "crm" / "contacts.parquet")
    pq.write_table(accounts, landing / "crm" / "accounts.parquet")
    load_landing(settings)
    from_parquet = loaded("raw.crm_contacts"), loaded("raw.crm_accounts")

    settings.warehouse_path.unlink()
    (landing / "crm" / "contacts.parquet").unlink()
    (landing / "crm" / "accounts.parquet").unlink()
    write(landing / "crm" / "contacts.csv", csv_text)
    write(landing / "crm" / "accounts.csv", accounts_csv)
    load_landing(settings)
    assert (loaded("raw.crm_contacts"), loaded("raw.crm_accounts")) == from_parquet
    # The key is trimmed, row numbers count from 1, an extra double column is text.
    assert query(
        settings, "select contact_id, _source_row, score from raw.crm_contacts order by 2"
    ) == [("C1", 1, "1.5"), ("C2", 2, None), ("C3", 3, "3.0")]


def test_references_are_trimmed_like_the_keys_they_point_to(settings: Settings, landing: Path):
    """' A1 ' in a contact's account_id points at account A1; a blank reference is null."""
    write(
        landing / "crm" / "contacts.csv",
        "contact_id,email,created_at,account_id\n"
        "C1,ana@acme.io,2026-01-01, A1 \n"
        "C2,bo@beta.com,2026-01-02,\n",
    )
    write(
        landing / "marketing" / "activities_2026_01.csv",
        "activity_id,contact_id,activity_type,occurred_at\nX1,  C1,page_view,2026-01-05\n",
    )
    pq.write_table(
        pa.table(
            {
                "activity_id": ["X2", "X3"],
                "contact_id": ["C2 ", "   "],
                "activity_type": ["page_view", "page_view"],
                "occurred_at": ["2026-01-06", "2026-01-06"],
            }
        ),
        landing / "marketing" / "activities_2026_02.parquet",
    )
    load_landing(settings)
    assert query(settings, "select contact_id, account_id from raw.crm_contacts order by 1") == [
        ("C1", "A1"),
        ("C2", None),
    ]
    assert query(
        settings, "select activity_id, contact_id from raw.marketing_activities order by 1"
    ) == [("X1", "C1"), ("X2", "C2"), ("X3", None)]


PARQUET_BAD_FILES = [
    pytest.param(
        {
            "contact_id": ["C8", "C9", "C10"],
            "email": ["a@b.io", "c@d.io", "e@f.io"],
            "created_at": ["2026-01-01", "2026-01-02", "yesterday"],
            "updated_at": pa.array([0, 0, 0], pa.timestamp("us")),
        },
        r"crm/contacts.parquet, row 3, column 'created_at': value 'yesterday' is not an ISO 8601",
        id="text-timestamp",
    ),
    pytest.param(
        {
            "contact_id": ["C8", " ", "C10"],
            "email": ["a@b.io", "c@d.io", "e@f.io"],
            "created_at": pa.array([0, 0, 0], pa.timestamp("us")),
        },
        r"crm/contacts.parquet, row 2, column 'contact_id': value ' ' is not a non-empty id",
        id="empty-id",
    ),
    pytest.param(
        {
            "contact_id": ["C8", None, "C10"],
            "email": ["a@b.io", "c@d.io", "e@f.io"],
            "created_at": pa.array([0, 0, 0], pa.timestamp("us")),
        },
        r"crm/contacts.parquet, row 2, column 'contact_id': the id is missing \(empty\)$",
        id="missing-id",
    ),
    pytest.param(
        {
            "contact_id": ["C8", "C9", "C8 "],
            "email": ["a@b.io", "c@d.io", "e@f.io"],
            "created_at": pa.array([0, 0, 0], pa.timestamp("us")),
        },
        r"crm/contacts.parquet, row 3, column 'contact_id': duplicate id 'C8' on rows \[1, 3\]",
        id="duplicate-id",
    ),
]


@pytest.mark.parametrize(("columns", "message"), PARQUET_BAD_FILES)
def test_bad_parquet_file_is_rejected_with_row_and_column(
    settings: Settings, landing: Path, columns: dict, message: str
):
    load_landing(settings)
    before = table_hash(settings, "raw.crm_contacts")
    (landing / "crm" / "contacts.csv").unlink()
    bad = landing / "crm" / "contacts.parquet"
    pq.write_table(pa.table(columns), bad)
    with pytest.raises(LoadFailed, match=message):
        load_landing(settings)
    assert table_hash(settings, "raw.crm_contacts") == before
    assert bad.exists()
    rejected = query(settings, "select source_file, source_row from audit.rejected_files")
    assert rejected[-1][0] == "crm/contacts.parquet"


def test_parquet_redelivery_upserts_by_updated_at(settings: Settings, landing: Path):
    load_landing(settings)
    (landing / "crm" / "contacts.csv").unlink()
    pq.write_table(
        pa.table(
            {
                "contact_id": ["C1", "C2", "C4"],
                "email": ["ana.new@acme.io", "bo.old@beta.com", "dee@acme.io"],
                "created_at": pa.array([0, 0, 0], pa.timestamp("us")),
                "updated_at": pa.array(
                    [1769904000000000, 1764547200000000, 1769904000000000], pa.timestamp("us")
                ),
            }
        ),
        landing / "crm" / "contacts.parquet",
    )
    loads = load_landing(settings)
    assert (loads["crm_contacts"].rows_upserted, loads["crm_contacts"].rows_kept_newer) == (2, 1)
    assert dict(query(settings, "select contact_id, email from raw.crm_contacts")) == {
        "C1": "ana.new@acme.io",
        "C2": "bo@beta.com",
        "C3": "cy@beta.com",
        "C4": "dee@acme.io",
    }


@pytest.mark.parametrize("staged", [False, True], ids=["read-in-place", "staged-copy"])
def test_parquet_column_that_cannot_be_decoded_rejects_the_file(
    settings: Settings, landing: Path, staged: bool
):
    """A Parquet file is read whole only by the merge: a broken column still rejects it.

    A file with a column named `file_row_number` is copied first (`staged`).
    """
    path = landing / "marketing" / "activities_2026_02.parquet"
    pq.write_table(
        pa.table(
            {
                "activity_id": ["X7", "X8"],
                "contact_id": ["C1", "C2"],
                "activity_type": ["page_view", "blog_view"],
                "occurred_at": ["2026-02-01", "2026-02-02"],
                "url": ["https://a.io/" * 40, "https://b.io/" * 40],
                **({"file_row_number": ["r1", "r2"]} if staged else {}),
            }
        ),
        path,
        compression="none",
    )
    chunk = pq.ParquetFile(path).metadata.row_group(0).column(4)
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    data = bytearray(path.read_bytes())
    data[start : start + 8] = b"\xff" * 8  # the url column's page header
    path.write_bytes(bytes(data))
    with pytest.raises(LoadFailed, match=r"marketing/activities_2026_02.parquet: cannot be parsed"):
        load_landing(settings)
    # Nothing of it was loaded; the good activities file was.
    assert query(settings, "select activity_id from raw.marketing_activities order by 1") == [
        ("X1",),
        ("X2",),
    ]
    assert query(settings, "select source_file from audit.rejected_files") == [
        ("marketing/activities_2026_02.parquet",)
    ]
    assert query(
        settings, "select count(*) from raw._load_log where source_file like '%2026_02%'"
    ) == [(0,)]


@pytest.mark.parametrize(
    ("lines", "line", "row", "why"),
    [
        # an unfinished object: DuckDB's own message names the next line
        (
            '{"contact_id": "C1"}\n{"contact_id": "C2"\n{"contact_id": "C3"}\n',
            2,
            2,
            "is not valid JSON",
        ),
        # the last line unfinished: DuckDB names the line after the file's end.
        # Rows count the objects, as for any other error in the file: a blank
        # line is not a row.
        (
            '{"contact_id": "C1"}\n\n{"contact_id": "C2"}\n{"contact_id":\n',
            4,
            3,
            "is not valid JSON",
        ),
        # a line that is not an object: DuckDB reads the file as one `json` column
        (
            '{"contact_id": "C1"}\r\n  \n[1, 2]\n{"contact_id": "C2"}\n',
            3,
            2,
            "is an array, not a JSON object",
        ),
        # DuckDB's reader takes a form feed or vertical tab for a blank
        (
            '{"contact_id": "C1"}\n\x0c\n\x0b{"contact_id": "C2"}\x0c\n{oops}\n',
            4,
            3,
            "is not valid JSON",
        ),
    ],
)
def test_bad_json_lines_name_the_line(
    settings: Settings, landing: Path, lines: str, line: int, row: int, why: str
):
    (landing / "crm" / "contacts.csv").unlink()
    write(landing / "crm" / "contacts.jsonl", "\ufeff" + lines)
    with pytest.raises(LoadFailed, match=rf"crm/contacts\.jsonl, row {row}: .*: line {line} {why}"):
        load_landing(settings)
    assert query(settings, "select source_file, source_row from audit.rejected_files") == [
        ("crm/contacts.jsonl", row)
    ]


def test_json_lines_file_of_blank_lines_says_so(settings: Settings, landing: Path):
    """A JSON lines file has no header to say "no rows yet": a file of blank
    lines is rejected as such, not as a file missing every required column."""
    write(landing / "marketing" / "activities_2026_02.jsonl", "\n \n\n")
    with pytest.raises(
        LoadFailed,
        match=r"activities_2026_02\.jsonl: has no JSON object, only blank lines; .*header-only CSV",
    ):
        load_landing(settings)
    assert query(settings, "select count(*) from raw.marketing_activities") == [(2,)]


def test_a_json_object_with_an_empty_key_is_named_by_its_row(settings: Settings, landing: Path):
    """An empty key makes DuckDB read every object as one `json` column: the
    message names the key and the row, not every required column as missing."""
    good = '{"activity_id": "J1", "contact_id": "C1", "activity_type": "page_view", '
    good += '"occurred_at": "2026-02-02T10:00:00Z"}\n'
    write(
        landing / "marketing" / "activities_2026_02.jsonl",
        good + good.replace("J1", "J2").replace("}", ', "": "x"}'),
    )
    with pytest.raises(
        LoadFailed,
        match=r"activities_2026_02\.jsonl, row 2: has an object with an empty key",
    ):
        load_landing(settings)
    assert query(settings, "select source_row from audit.rejected_files") == [(2,)]


def test_extra_columns_named_like_another_entitys_typed_column_are_text(
    settings: Settings, landing: Path
):
    """SPEC section 2: unknown extra columns are kept and ignored. A contact's
    employee_count or an activity's amount and created_at are not in those
    entities' contracts, so they are text, whatever they hold; updated_at is
    typed in every entity (it orders re-delivered rows) and so are each
    entity's own contract columns (an account's employee_count, above)."""
    write(
        landing / "crm" / "contacts.csv",
        "contact_id,email,created_at,employee_count,closed_at\n"
        "C1,ana@acme.io,2026-01-01,51-200,never\n",
    )
    write(
        landing / "marketing" / "activities_2026_01.csv",
        "activity_id,contact_id,activity_type,occurred_at,amount,created_at,is_won\n"
        "X1,C1,page_view,2026-01-05T10:00:00Z,n/a,01/12/2026 10:00,maybe\n",
    )
    pq.write_table(
        pa.table(
            {
                "activity_id": ["X2"],
                "contact_id": ["C1"],
                "activity_type": ["demo_request"],
                "occurred_at": ["2026-01-06T10:00:00Z"],
                "amount": [12.5],
            }
        ),
        landing / "marketing" / "activities_2026_02.parquet",
    )
    load_landing(settings)
    assert query(settings, "select employee_count, closed_at from raw.crm_contacts") == [
        ("51-200", "never")
    ]
    assert query(
        settings,
        "select activity_id, amount, created_at, is_won from raw.marketing_activities "
        "order by activity_id",
    ) == [("X1", "n/a", "01/12/2026 10:00", "maybe"), ("X2", "12.5", None, None)]
    types = dict(
        query(
            settings,
            "select table_name || '.' || column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and column_name in ('employee_count', 'amount', "
            "'updated_at', 'created_at')",
        )
    )
    assert types == {
        "crm_accounts.employee_count": "BIGINT",
        "crm_accounts.updated_at": "TIMESTAMP",
        "crm_accounts.created_at": "TIMESTAMP",
        "crm_contacts.employee_count": "VARCHAR",
        "crm_contacts.updated_at": "TIMESTAMP",
        "crm_contacts.created_at": "TIMESTAMP",
        "crm_opportunities.amount": "DOUBLE",
        "crm_opportunities.created_at": "TIMESTAMP",
        "marketing_activities.amount": "VARCHAR",
        "marketing_activities.created_at": "VARCHAR",
    }
    # a bad updated_at still rejects its file: it decides which row wins
    write(
        landing / "marketing" / "activities_2026_03.csv",
        "activity_id,contact_id,activity_type,occurred_at,updated_at\n"
        "X3,C1,page_view,2026-01-07T10:00:00Z,01/12/2026 10:00\n",
    )
    with pytest.raises(LoadFailed, match=r"row 1, column 'updated_at'.*not an ISO 8601"):
        load_landing(settings)


def test_extra_column_typed_by_an_earlier_commit_becomes_text(settings: Settings, landing: Path):
    """A raw table from before per-entity types holds a contact's extra
    employee_count as BIGINT: the next load turns it into text, keeping its
    values, so that '51-200' loads."""
    write(
        landing / "crm" / "contacts.csv",
        "contact_id,email,created_at,employee_count\nC1,ana@acme.io,2026-01-01,12\n",
    )
    load_landing(settings)
    con = connect(settings.warehouse_path)
    try:
        con.execute(
            "alter table raw.crm_contacts alter column employee_count type bigint "
            "using cast(employee_count as bigint)"
        )
    finally:
        con.close()
    write(
        landing / "crm" / "contacts.csv",
        "contact_id,email,created_at,employee_count\n"
        "C1,ana@acme.io,2026-01-01,12\nC2,bo@beta.com,2026-01-02,51-200\n",
    )
    load_landing(settings)
    assert query(
        settings, "select contact_id, employee_count from raw.crm_contacts order by 1"
    ) == [
        ("C1", "12"),
        ("C2", "51-200"),
    ]


def test_bad_json_line_beyond_the_sampled_part_names_its_line(settings: Settings, landing: Path):
    """Column detection reads only the start of a file: a bad line further on
    fails the copy, and is still named by its line (and its row, as a bad
    value would be)."""
    good = "".join(
        f'{{"contact_id": "C{i}", "email": "c{i}@acme.io", "created_at": "2026-01-01"}}\n'
        for i in range(30_000)
    )
    (landing / "crm" / "contacts.csv").unlink()
    write(landing / "crm" / "contacts.jsonl", "\n\n\n" + good + '{"contact_id": "CX", oops}\n')
    with pytest.raises(
        LoadFailed, match=r"row 30001: not valid JSON lines .*: line 30004 is not valid JSON"
    ):
        load_landing(settings)
    # the same file with a bad value instead names the same row
    write(
        landing / "crm" / "contacts.jsonl",
        "\n\n\n" + good + '{"contact_id": "CX", "email": "x@acme.io", "created_at": "soon"}\n',
    )
    with pytest.raises(LoadFailed, match=r"row 30001, column 'created_at'"):
        load_landing(settings)


def test_files_no_entity_loads_are_listed(tmp_path: Path) -> None:
    """A second contacts file, a spreadsheet, a file outside the two folders:
    listed for the run's summary (SPEC section 2: crm/contacts.* is one file).
    Hidden files (the demo marker, swap files) are nobody's delivery."""
    landing = tmp_path / "landing"
    for name in (
        "crm/accounts.csv",
        "crm/contacts.parquet",
        "crm/contacts_2.csv",
        "crm/leads.xlsx",
        "marketing/activities_2026_01.csv",
        "marketing/activities.JSONL",
        "marketing/clicks.csv",
        "readme.txt",
        ".leadscore-demo-data",
        "crm/.contacts.csv.swp",
        ".trash/crm/contacts.csv",
    ):
        (landing / name).parent.mkdir(parents=True, exist_ok=True)
        (landing / name).write_text("x\n")
    assert ignored_files(landing) == [
        "crm/contacts_2.csv",
        "crm/leads.xlsx",
        "marketing/clicks.csv",
        "readme.txt",
    ]
    assert ignored_files(tmp_path / "missing") == []


def test_csv_header_with_an_unnamed_column_is_rejected_naming_its_place(
    settings: Settings, landing: Path
):
    # Some exports end every line with a comma: the header's last name is
    # empty, which DuckDB could only report as a binder error on its own SQL.
    text = "".join(line + ",\n" for line in ACTIVITIES.splitlines())
    write(landing / "marketing" / "activities_2026_01.csv", text)
    with pytest.raises(
        LoadFailed,
        match=r"activities_2026_01\.csv, row 0: column 6 of the header \(after 'channel'\) "
        r"has no name",
    ):
        load_landing(settings)
    assert query(settings, "select source_file, source_row from audit.rejected_files") == [
        ("marketing/activities_2026_01.csv", 0)
    ]


def test_csv_header_with_a_quote_never_closed_is_rejected(settings: Settings, landing: Path):
    # The quote makes the rest of the file the header's last name: DuckDB
    # then reads a header and no rows, and the file loaded empty.
    text = ACTIVITIES.replace(",channel", ',"channel', 1)
    write(landing / "marketing" / "activities_2026_01.csv", text)
    with pytest.raises(
        LoadFailed,
        match=r"activities_2026_01\.csv, row 0: column 5 of the header holds a line break "
        r"\('channel'...\): a quote never closed in the header\?",
    ):
        load_landing(settings)


def test_csv_row_with_a_wrong_number_of_values_names_its_row(settings: Settings, landing: Path):
    # Row 1's quoted value spans two lines: rows count records, not lines.
    text = (
        "activity_id,contact_id,activity_type,occurred_at,url\n"
        'X1,C1,page_view,2026-01-05T10:00:00Z,"multi\nline"\n'
        "X2,C1,page_view,2026-01-05T11:00:00Z,https://a.io/x,y\n"
    )
    write(landing / "marketing" / "activities_2026_01.csv", text)
    with pytest.raises(
        LoadFailed,
        match=r"activities_2026_01\.csv, row 2: has 6 values where the header has 5 columns",
    ):
        load_landing(settings)
    assert query(settings, "select source_row, value from audit.rejected_files") == [
        (2, "X2,C1,page_view,2026-01-05T11:00:00Z,https://a.io/x,y")
    ]
    write(landing / "marketing" / "activities_2026_01.csv", ACTIVITIES + 'X3,C1,page_view,"2026\n')
    with pytest.raises(LoadFailed, match=r"row 3: has a quoted value that is never closed"):
        load_landing(settings)


@pytest.mark.parametrize("line_break", [False, True], ids=["one-line-rows", "quoted-line-break"])
def test_csv_row_whose_extra_values_are_empty_is_rejected(
    settings: Settings, landing: Path, line_break: bool
):
    # DuckDB's strict mode alone drops empty values at the end of a row, so an
    # unquoted comma in the url of a row whose last columns are empty loaded
    # `b=2` as the campaign. Rows count records, not lines.
    header = "activity_id,contact_id,activity_type,occurred_at,url,campaign_id,user_agent\n"
    first = 'X1,C1,page_view,2026-01-05T10:00:00Z,,,"two\nlines"\n' if line_break else ""
    text = header + first + "X2,C1,page_view,2026-01-05T11:00:00Z,https://a.io/?a,b=2,,\n"
    write(landing / "marketing" / "activities_2026_01.csv", text)
    with pytest.raises(
        LoadFailed,
        match=rf"activities_2026_01\.csv, row {2 if line_break else 1}: has 8 values where the "
        r"header has 7 columns \(an unquoted comma inside a value\?\)",
    ):
        load_landing(settings)
    assert query(settings, "select source_row, value from audit.rejected_files") == [
        (2 if line_break else 1, "X2,C1,page_view,2026-01-05T11:00:00Z,https://a.io/?a,b=2,,")
    ]
    # The row's text quotes the values that need it; a blank line before the
    # row does not shift its number (rows count records).
    write(
        landing / "marketing" / "activities_2026_01.csv",
        header + first + '\nX2,C1,page_view,2026-01-05T11:00:00Z,"a,""b""\nc",,,\n',
    )
    with pytest.raises(LoadFailed, match=rf"row {2 if line_break else 1}: has 8 values"):
        load_landing(settings)
    assert query(
        settings, "select value from audit.rejected_files order by rejected_at desc limit 1"
    ) == [('X2,C1,page_view,2026-01-05T11:00:00Z,"a,""b""\nc",,,',)]


@pytest.mark.parametrize("line_break", [False, True], ids=["one-line-rows", "quoted-line-break"])
def test_csv_empty_values_are_null_and_short_rows_are_named(
    settings: Settings, landing: Path, line_break: bool
):
    user_agent = '"two\nlines"' if line_break else '""'
    text = (
        "activity_id,contact_id,activity_type,occurred_at,url,campaign_id,user_agent\n"
        f"X1,C1,page_view,2026-01-05T10:00:00Z,,,{user_agent}\n"
        'X2,C1,page_view,2026-01-05T11:00:00Z,"",cmp,ua\n'
    )
    write(landing / "marketing" / "activities_2026_01.csv", text)
    load_landing(settings)
    assert query(
        settings,
        "select activity_id, url, campaign_id, user_agent from raw.marketing_activities "
        "order by activity_id",
    ) == [
        ("X1", None, None, "two\nlines" if line_break else None),
        ("X2", None, "cmp", "ua"),
    ]
    # A row with too few values, and quoted values never closed: DuckDB's
    # padded reader returns a row cut short at the quote, or, on one thread (a
    # file with a quoted line break), ends the file silently at a quote that
    # opens a row.
    later = "X4,C1,page_view,2026-01-05T13:00:00Z,,,\n"
    for line, message in [
        ("X3,C1,page_view,2026-01-05T12:00:00Z,,cmp\n", "has 6 values where the header has 7"),
        ("\nX3,C1,page_view,2026-01-05T12:00:00Z\n", "has 4 values"),  # after a blank line
        ('X3,C1,"page' + later, "has a quoted value that is never closed"),
        ('"X3,C1,page_view,2026-01-05T12:00:00Z,,,\n' + later, "has a quoted value that is never"),
    ]:
        write(landing / "marketing" / "activities_2026_01.csv", text + line)
        with pytest.raises(LoadFailed, match=rf"row 3: {message}"):
            load_landing(settings)


def test_csv_read_on_one_thread_must_agree_with_the_strict_reader(
    settings: Settings, landing: Path, monkeypatch: pytest.MonkeyPatch
):
    # A file with a quoted line break is read on one thread, where DuckDB's
    # padded reader may end the file silently at a quote never closed; the
    # strict reader must then find as many rows. No file known today makes the
    # two disagree without an error, so the strict reader is made to lose a
    # row here: the file is rejected, not loaded short.
    import orchestration.ingest as ingest

    real_reader = ingest._csv_reader

    def losing_a_row(literal, columns, *, padded, parallel=True):
        reader = real_reader(literal, columns, padded=padded, parallel=parallel)
        return reader if padded else f"(select * from {reader} limit 1)"

    monkeypatch.setattr(ingest, "_csv_reader", losing_a_row)
    text = (
        "activity_id,contact_id,activity_type,occurred_at,url\n"
        'X1,C1,page_view,2026-01-05T10:00:00Z,"two\nlines"\n'
        "X2,C1,page_view,2026-01-05T11:00:00Z,https://a.io/x\n"
    )
    write(landing / "marketing" / "activities_2026_01.csv", text)
    with pytest.raises(
        LoadFailed,
        match=r"activities_2026_01\.csv: reads as 1 rows or as 2 depending on the reader; "
        r"check its quotes",
    ):
        load_landing(settings)
    assert query(settings, "select count(*) from raw.marketing_activities") == [(0,)]


def test_missing_entity_is_recorded_and_a_case_only_mismatch_is_named(
    settings: Settings, landing: Path
):
    (landing / "crm" / "contacts.csv").rename(landing / "crm" / "Contacts.csv")
    with pytest.raises(
        LoadFailed,
        match=r"crm/contacts\.\*: required landing file is missing \(looked in .*\); "
        r"crm/Contacts\.csv differs only in letter case",
    ):
        load_landing(settings)
    # The failure message points to audit.rejected_files: the reason is there.
    rows = query(settings, "select entity, source_file, message from audit.rejected_files")
    assert [(entity, source) for entity, source, _ in rows] == [("crm_contacts", "crm/contacts.*")]
    assert "required landing file is missing" in rows[0][2]


@pytest.mark.parametrize(("delimiter", "name"), [(";", "semicolons"), ("\t", "tabs")])
def test_csv_with_another_delimiter_says_so(
    settings: Settings, landing: Path, delimiter: str, name: str
):
    # Excel writes ';' in many locales: the header reads as one column.
    write(landing / "crm" / "contacts.csv", CONTACTS.replace(",", delimiter))
    with pytest.raises(
        LoadFailed, match=rf"crm/contacts\.csv, row 0, column 'contact_id': missing .*{name}"
    ):
        load_landing(settings)
