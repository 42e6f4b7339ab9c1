"""The uniqueness test on activity ids checks only rows loaded after the last
complete build (audit.dbt_builds.loaded_through) or after the load through
which the batch check last found the ids unique (audit.verified_unique), each
against the whole table; without that bookkeeping it checks every row."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_quality_flags import settings_in, write_fixture_landing

from orchestration.dbt_runner import dbt_command
from orchestration.ingest import load_landing
from orchestration.quality import run_suite
from orchestration.resources import connect

TEST = "unique_in_new_loads_stg_marketing__activities_activity_id__marketing_activities"


def execute(settings, *statements: str) -> None:
    con = connect(settings.warehouse_path)
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


def check(settings) -> tuple[bool, str]:
    result = dbt_command(settings, "test", "--select", TEST, check=False)
    return result.returncode == 0, result.stdout


@pytest.fixture
def loaded(tmp_path: Path):
    settings = settings_in(tmp_path)
    write_fixture_landing(settings.landing_dir)
    load_landing(settings)
    dbt_command(settings, "run", "--select", "stg_marketing__activities")
    return settings


def repeat_an_id(settings, load_id: int) -> None:
    """A second row for activity A01, as if written by load `load_id`."""
    execute(
        settings,
        "insert into raw.marketing_activities by name "
        f"select * replace ({load_id} as _load_id) from raw.marketing_activities "
        "where activity_id = 'A01'",
    )


def record_build(settings, loaded_through: int) -> None:
    execute(
        settings,
        "create schema if not exists audit",
        "create table audit.dbt_builds (run_id varchar, score_date date, "
        "is_complete boolean, recorded_at timestamp, loaded_through bigint)",
        "insert into audit.dbt_builds values "
        f"('r1', date '2026-03-31', true, cast(now() as timestamp), {loaded_through})",
    )


def test_without_bookkeeping_every_row_is_checked(loaded):
    repeat_an_id(loaded, load_id=1)
    ok, output = check(loaded)
    assert not ok, output


def test_a_new_row_repeating_an_old_id_fails(loaded):
    record_build(loaded, loaded_through=10)
    ok, output = check(loaded)
    assert ok, output
    repeat_an_id(loaded, load_id=11)  # loaded after the build: checked
    ok, output = check(loaded)
    assert not ok, output
    assert "Got 1 result" in output


def test_rows_checked_at_an_earlier_build_are_not_grouped_again(loaded):
    record_build(loaded, loaded_through=10)
    repeat_an_id(loaded, load_id=5)  # only possible by writing raw by hand
    ok, output = check(loaded)
    assert ok, output


def batch_check(settings, full_scan: bool = False) -> tuple[bool, list[tuple]]:
    """Run the activities' uniqueness batch check; (passed, audit.verified_unique rows)."""
    con = connect(settings.warehouse_path)
    try:
        (outcome,) = run_suite(
            con,
            "marketing_activities",
            run_id="t",
            selected={"activity_id_unique"},
            full_scan=full_scan,
        )
        verified = con.execute(
            "select entity, column_name, load_id from audit.verified_unique"
        ).fetchall()
        return outcome.success, verified
    finally:
        con.close()


def max_load_id(settings) -> int:
    con = connect(settings.warehouse_path, read_only=True)
    try:
        return con.execute("select max(_load_id) from raw.marketing_activities").fetchone()[0]
    finally:
        con.close()


def test_rows_the_batch_check_found_unique_are_not_grouped_again(loaded):
    passed, verified = batch_check(loaded)
    through = max_load_id(loaded)
    assert passed and verified == [("marketing_activities", "activity_id", through)]
    repeat_an_id(loaded, load_id=through)  # only possible by writing raw by hand
    ok, output = check(loaded)
    assert ok, output
    repeat_an_id(loaded, load_id=through + 1)  # loaded after the check: grouped
    ok, output = check(loaded)
    assert not ok, output


def test_a_batch_check_that_finds_duplicates_verifies_nothing(loaded):
    assert batch_check(loaded)[1]
    repeat_an_id(loaded, load_id=1)
    # a full rescan (weekly, or LEADSCORE_GX_FULL_SCAN=1) finds the duplicate
    # among the verified rows: the record goes, and dbt groups every row
    passed, verified = batch_check(loaded, full_scan=True)
    assert not passed and verified == []
    ok, output = check(loaded)
    assert not ok, output


def test_an_incremental_batch_check_records_nothing(loaded):
    """Only a full scan records: an id edited in place (no new _load_id) is
    outside an incremental scan, so dbt groups it itself."""
    passed, verified = batch_check(loaded)  # the first run scans in full
    through = max_load_id(loaded)
    assert passed and verified == [("marketing_activities", "activity_id", through)]
    repeat_an_id(loaded, load_id=through)  # a hand fix that reused an id
    passed, verified = batch_check(loaded)  # incremental: nothing new to judge
    assert passed and verified == []
    ok, output = check(loaded)
    assert not ok, output
