"""Write-audit-publish: the BI file is replaced atomically and only after a
complete build; a reader holding it open never blocks or sees a mix."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from orchestration.publish import PublishRefused, publish
from orchestration.resources import connect, sql_string
from orchestration.settings import Settings, SettingsError


def build_marts(settings: Settings, version: int, complete: bool = True) -> None:
    """A stand-in for a dbt build: two marts tables stamped with the same version."""
    con = connect(settings.warehouse_path)
    try:
        con.execute("create schema if not exists marts")
        con.execute("create schema if not exists audit")
        for table in ("lead_scores", "mql_handoffs"):
            con.execute(
                f"create or replace table marts.{table} as "
                f"select {version} as version, range as contact_id from range(2000)"
            )
        con.execute(
            "create table if not exists audit.dbt_builds "
            "(run_id varchar, score_date date, is_complete boolean, recorded_at timestamp)"
        )
        con.execute(
            "insert into audit.dbt_builds values "
            "('r', date '2026-01-31', ?, cast(now() as timestamp))",
            [complete],
        )
    finally:
        con.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_publish_copies_every_mart_and_parquet(settings: Settings):
    build_marts(settings, version=1)
    result = publish(settings, run_id="run-1")
    assert result.row_counts == {"lead_scores": 2000, "mql_handoffs": 2000}
    con = duckdb.connect(str(settings.publish_path), read_only=True)
    try:
        assert con.execute("select max(version) from lead_scores").fetchone() == (1,)
        assert con.execute(
            "select run_id, cast(score_date as varchar) from _publish_info"
        ).fetchone() == (
            "run-1",
            "2026-01-31",
        )
    finally:
        con.close()
    assert sorted(p.name for p in settings.export_dir.iterdir()) == [
        "_publish_info.json",
        "lead_scores.parquet",
        "mql_handoffs.parquet",
    ]
    # No temporary files are left beside the published file.
    assert sorted(p.name for p in settings.publish_path.parent.iterdir()) == [
        settings.export_dir.name,
        settings.publish_path.name,
    ]


def test_incomplete_build_is_never_published(settings: Settings):
    build_marts(settings, version=1)
    publish(settings)
    before = sha256(settings.publish_path)
    build_marts(settings, version=2, complete=False)
    with pytest.raises(PublishRefused, match="did not complete"):
        publish(settings)
    assert sha256(settings.publish_path) == before


def test_a_publish_names_earlier_dates_whose_last_build_did_not_complete(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    """A date whose last build failed or was killed (its record stays
    incomplete) and was not scored again since is named in the warnings of
    every later publish, with the command that fixes it."""
    build_marts(settings, version=1)
    con = connect(settings.warehouse_path)
    try:
        con.execute(
            """
            insert into audit.dbt_builds values
                ('0123456789abcdef', date '2026-01-29', false, timestamp '2026-01-29 06:01:00'),
                ('run-b', date '2026-01-30', false, timestamp '2026-01-30 06:00:00'),
                ('run-c', date '2026-01-30', true, timestamp '2026-01-30 07:00:00'),
                ('run-d', date '2026-01-27', false, timestamp '2026-01-27 06:00:00'),
                ('run-e', date '2026-01-28', true, timestamp '2026-01-28 06:00:00'),
                ('run-f', date '2026-01-28', false, timestamp '2026-01-28 09:30:00')
            """
        )
    finally:
        con.close()

    def unfinished(date: str, run: str, started: str) -> str:
        return (
            f"the last build of {date} (run {run}, {started} UTC) did not complete, and none "
            f"has since: {date}'s rows of lead_score_history, mql_handoffs and account_scores "
            f"may be missing or out of date; score it again: leadscore run --date {date}"
        )

    # 2026-01-30 was scored again after its failure; 2026-01-31 is the build published
    assert publish(settings).warnings == [
        unfinished("2026-01-27", "run-d", "2026-01-27 06:00"),
        unfinished("2026-01-28", "run-f", "2026-01-28 09:30"),
        unfinished("2026-01-29", "01234567", "2026-01-29 06:01"),
    ]

    monkeypatch.setattr("orchestration.publish.UNFINISHED_NAMED", 1)
    assert publish(settings).warnings == [
        unfinished("2026-01-27", "run-d", "2026-01-27 06:00"),
        "2 more date(s) from 2026-01-28 to 2026-01-29 whose last build did not complete "
        "(the latest row of each date in audit.dbt_builds): score each again",
    ]


HOLDER = textwrap.dedent(
    """
    import sys, duckdb
    # A BI tool holding one connection open for the whole run.
    held = duckdb.connect(sys.argv[1], read_only=True)
    first = held.execute("select max(version) from lead_scores").fetchone()[0]
    print("ready", flush=True)
    sys.stdin.readline()  # wait until the publishes are done
    again = held.execute("select min(version), max(version) from mql_handoffs").fetchone()
    print(f"held={first}->{again[0]},{again[1]}", flush=True)
    """
)

POLLER = textwrap.dedent(
    """
    import sys, duckdb
    # A BI tool opening a fresh connection for every query (DuckDB caches the
    # database per process while a connection is open, so close each time).
    print("ready", flush=True)
    seen = set()
    while True:
        con = duckdb.connect(sys.argv[1], read_only=True)
        a = con.execute("select min(version), max(version) from lead_scores").fetchone()
        b = con.execute("select min(version), max(version) from mql_handoffs").fetchone()
        con.close()
        if a != b or a[0] != a[1]:
            print(f"MIX {a} {b}", flush=True); sys.exit(1)
        seen.add(a[0])
        if a[0] == int(sys.argv[2]):
            break
    print("seen=" + ",".join(str(v) for v in sorted(seen)), flush=True)
    """
)


def _start(script: Path, *args: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, str(script), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready", process.stderr.read()
    return process


def test_readers_do_not_block_publishing_and_never_see_a_mix(settings: Settings, tmp_path: Path):
    build_marts(settings, version=1)
    publish(settings)
    (tmp_path / "holder.py").write_text(HOLDER)
    (tmp_path / "poller.py").write_text(POLLER)
    last = 8
    holder = _start(tmp_path / "holder.py", str(settings.publish_path))
    poller = _start(tmp_path / "poller.py", str(settings.publish_path), str(last))
    try:
        for version in range(2, last + 1):
            build_marts(settings, version=version)
            publish(settings)  # must not fail while readers hold the file open
            time.sleep(0.2)
        held_out, held_err = holder.communicate("done\n", timeout=60)
        poll_out, poll_err = poller.communicate(timeout=60)
    finally:
        for process in (holder, poller):
            if process.poll() is None:
                process.kill()
    assert holder.returncode == 0, held_err
    assert poller.returncode == 0, poll_out + poll_err
    # The held connection kept reading its snapshot, consistently.
    assert held_out.strip() == "held=1->1,1"
    # Fresh connections saw whole versions only, ending with the last one.
    seen = [int(v) for v in poll_out.strip().removeprefix("seen=").split(",")]
    assert seen[-1] == last


BY_DATE = frozenset({"lead_score_history"})


def score_day(settings: Settings, day: str, version: int, contacts: int = 500) -> None:
    """A stand-in for a dbt build of one score date: (re)writes that date of a
    history table and the whole of a latest-date table, and records the build."""
    con = connect(settings.warehouse_path)
    try:
        con.execute("create schema if not exists marts")
        con.execute("create schema if not exists audit")
        con.execute(
            "create table if not exists marts.lead_score_history "
            "(contact_id bigint, score_date date, version integer)"
        )
        con.execute(
            "delete from marts.lead_score_history where score_date = cast(? as date)", [day]
        )
        con.execute(
            "insert into marts.lead_score_history (contact_id, score_date, version) "
            "select range, cast(? as date), ? from range(?)",
            [day, version, contacts],
        )
        con.execute(
            "create or replace table marts.lead_scores as "
            "select range as contact_id, cast(? as date) as score_date, ? as version "
            "from range(?)",
            [day, version, contacts],
        )
        con.execute(
            "create table if not exists audit.dbt_builds "
            "(run_id varchar, score_date date, is_complete boolean, recorded_at timestamp)"
        )
        con.execute(
            "insert into audit.dbt_builds values ('r', cast(? as date), true, "
            "cast(now() as timestamp))",
            [day],
        )
    finally:
        con.close()


def published_rows(settings: Settings, table: str) -> list[tuple]:
    con = duckdb.connect(str(settings.publish_path), read_only=True)
    try:
        return con.execute(f"select * from {table} order by all").fetchall()
    finally:
        con.close()


def warehouse_rows(settings: Settings, table: str) -> list[tuple]:
    con = connect(settings.warehouse_path, read_only=True)
    try:
        return con.execute(f"select * from marts.{table} order by all").fetchall()
    finally:
        con.close()


def exported_rows(settings: Settings, table: str) -> list[tuple]:
    con = duckdb.connect()
    try:
        return con.execute(
            f"select contact_id, score_date, version from read_parquet("
            f"{sql_string(settings.export_dir / table / '*' / '*.parquet')}, "
            "hive_partitioning = true) order by all"
        ).fetchall()
    finally:
        con.close()


def partition_file(settings: Settings, table: str, day: str) -> Path:
    return settings.export_dir / table / f"score_date={day}" / "data_0.parquet"


def test_history_is_published_by_score_date(settings: Settings, monkeypatch: pytest.MonkeyPatch):
    score_day(settings, "2026-01-30", version=1)
    first = publish(settings, by_date=BY_DATE)
    assert first.refreshed == {"lead_score_history": "all", "lead_scores": "all"}
    day1 = partition_file(settings, "lead_score_history", "2026-01-30")
    inode = day1.stat().st_ino

    # The next day: only its rows are written, the first day's file is reused.
    score_day(settings, "2026-01-31", version=2)
    second = publish(settings, by_date=BY_DATE)
    assert second.refreshed == {"lead_score_history": ["2026-01-31"], "lead_scores": "all"}
    assert published_rows(settings, "lead_score_history") == warehouse_rows(
        settings, "lead_score_history"
    )
    assert published_rows(settings, "lead_scores") == warehouse_rows(settings, "lead_scores")
    assert exported_rows(settings, "lead_score_history") == warehouse_rows(
        settings, "lead_score_history"
    )
    assert day1.stat().st_ino == inode
    assert second.row_counts["lead_score_history"] == 1000

    # Re-scoring the first day replaces it (same row count, new content).
    score_day(settings, "2026-01-30", version=3)
    assert publish(settings, by_date=BY_DATE).refreshed["lead_score_history"] == ["2026-01-30"]
    assert published_rows(settings, "lead_score_history") == warehouse_rows(
        settings, "lead_score_history"
    )
    assert exported_rows(settings, "lead_score_history") == warehouse_rows(
        settings, "lead_score_history"
    )
    assert day1.stat().st_ino != inode

    # A date changed outside leadscore (no build recorded) is found by its row count.
    con = connect(settings.warehouse_path)
    con.execute(
        "delete from marts.lead_score_history "
        "where score_date = date '2026-01-31' and contact_id < 10"
    )
    con.execute("insert into audit.dbt_builds values ('r', null, true, cast(now() as timestamp))")
    con.close()
    assert publish(settings, by_date=BY_DATE).refreshed["lead_score_history"] == ["2026-01-31"]
    assert published_rows(settings, "lead_score_history") == warehouse_rows(
        settings, "lead_score_history"
    )

    # The result is what a full copy gives.
    incremental = published_rows(settings, "lead_score_history")
    monkeypatch.setenv("LEADSCORE_PUBLISH_FULL", "1")
    assert publish(settings, by_date=BY_DATE).refreshed["lead_score_history"] == "all"
    assert published_rows(settings, "lead_score_history") == incremental
    assert exported_rows(settings, "lead_score_history") == warehouse_rows(
        settings, "lead_score_history"
    )


def test_paths_with_a_single_quote_are_published(settings: Settings, tmp_path: Path):
    """A warehouse, published file and export folder under /home/o'brien: the
    paths are SQL string literals (attach, copy ... to), quotes doubled."""
    home = tmp_path / "o'brien's data"
    settings = dataclasses.replace(
        settings,
        warehouse_path=home / "warehouse.duckdb",
        publish_path=home / "published" / "published.duckdb",
        export_dir=home / "published" / "parquet",
    )
    home.mkdir()
    score_day(settings, "2026-01-30", version=1)
    publish(settings, by_date=BY_DATE)
    score_day(settings, "2026-01-31", version=2)
    assert publish(settings, by_date=BY_DATE).refreshed["lead_score_history"] == ["2026-01-31"]
    for table in ("lead_scores", "lead_score_history"):
        assert published_rows(settings, table) == warehouse_rows(settings, table)
    assert exported_rows(settings, "lead_score_history") == warehouse_rows(
        settings, "lead_score_history"
    )
    assert (settings.export_dir / "lead_scores.parquet").is_file()


def record_dbt_run(settings: Settings, day: str, full_refresh: bool = False) -> None:
    """What dbt's on-run-end hook (macro record_dbt_run) writes for any invocation."""
    con = connect(settings.warehouse_path)
    try:
        con.execute(
            "create table if not exists audit.dbt_runs (invocation_id varchar, score_date date, "
            "is_full_refresh boolean, models varchar, recorded_at timestamp)"
        )
        con.execute(
            "insert into audit.dbt_runs values ('i', cast(? as date), ?, 'lead_score_history', "
            "cast(now() as timestamp))",
            [day, full_refresh],
        )
    finally:
        con.close()


def test_dates_rebuilt_by_dbt_outside_leadscore_are_published(settings: Settings):
    score_day(settings, "2026-01-30", version=1)
    score_day(settings, "2026-01-31", version=1)
    publish(settings, by_date=BY_DATE)
    # An analyst re-scores 2026-01-30 with dbt directly: same row count, new
    # values, no orchestrated build recorded; dbt's own record is enough.
    con = connect(settings.warehouse_path)
    con.execute(
        "update marts.lead_score_history set version = 5 where score_date = date '2026-01-30'"
    )
    con.close()
    record_dbt_run(settings, "2026-01-30")
    assert publish(settings, by_date=BY_DATE).refreshed["lead_score_history"] == ["2026-01-30"]
    assert published_rows(settings, "lead_score_history") == warehouse_rows(
        settings, "lead_score_history"
    )
    # A --full-refresh since the last publish: the table is copied whole.
    con = connect(settings.warehouse_path)
    con.execute("update marts.lead_score_history set version = 6")
    con.close()
    record_dbt_run(settings, "2026-01-31", full_refresh=True)
    assert publish(settings, by_date=BY_DATE).refreshed["lead_score_history"] == "all"
    assert published_rows(settings, "lead_score_history") == warehouse_rows(
        settings, "lead_score_history"
    )
    assert {row[-1] for row in exported_rows(settings, "lead_score_history")} == {6}


def test_publish_by_date_falls_back_to_a_full_copy(settings: Settings):
    score_day(settings, "2026-01-30", version=1)
    publish(settings, by_date=BY_DATE)
    # A new column in the model: the table is copied whole.
    con = connect(settings.warehouse_path)
    con.execute("alter table marts.lead_score_history add column segment varchar")
    con.close()
    score_day(settings, "2026-01-31", version=2)
    assert publish(settings, by_date=BY_DATE).refreshed["lead_score_history"] == "all"
    assert published_rows(settings, "lead_score_history") == warehouse_rows(
        settings, "lead_score_history"
    )

    # An export folder that does not belong to the published file (a crash
    # between the two renames) is not reused: every partition is rewritten.
    day1 = partition_file(settings, "lead_score_history", "2026-01-30")
    inode = day1.stat().st_ino
    info = settings.export_dir / "_publish_info.json"
    info.write_text('{"published_at": "2000-01-01", "run_id": "other"}\n')
    score_day(settings, "2026-02-01", version=3)
    assert publish(settings, by_date=BY_DATE).refreshed["lead_score_history"] == ["2026-02-01"]
    assert day1.stat().st_ino != inode
    con = duckdb.connect()
    exported = con.execute(
        f"select count(*) from read_parquet('{settings.export_dir}/lead_score_history/*/*.parquet')"
    ).fetchone()[0]
    con.close()
    assert exported == 1500


def test_by_date_tables_come_from_the_dbt_yaml():
    from orchestration.publish import by_score_date_tables

    assert by_score_date_tables() == {"lead_score_history", "account_scores", "mql_handoffs"}


def _export_folder(path: Path, marker: str) -> Path:
    path.mkdir()
    (path / "lead_scores.parquet").write_text(marker)
    return path


def test_export_folder_is_swapped_in_one_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Where Linux allows it (renameat2 RENAME_EXCHANGE), the Parquet folder is
    exchanged with the new one atomically: no moment without a folder, no
    rename of the live folder aside. Elsewhere two renames do it."""
    from orchestration import publish as publish_module

    final = _export_folder(tmp_path / "published_parquet", "old")
    new = _export_folder(tmp_path / ".published_parquet.0000a1a1.tmp", "new")
    if not publish_module._exchange(new, final):
        pytest.skip("this system cannot exchange two paths atomically")
    # exchanged: each path holds the other's folder
    assert (final / "lead_scores.parquet").read_text() == "new"
    assert (new / "lead_scores.parquet").read_text() == "old"

    newer = _export_folder(tmp_path / ".published_parquet.0000b2b2.tmp", "newer")

    def no_rename(self: Path, target: Path) -> None:
        raise AssertionError(f"renamed {self} -> {target}: the folder was missing meanwhile")

    monkeypatch.setattr(Path, "rename", no_rename)
    previous = publish_module._swap_directory(newer, final)
    assert previous == newer and (newer / "lead_scores.parquet").read_text() == "new"
    assert publish_module._retire_previous(final, previous) == []
    assert (final / "lead_scores.parquet").read_text() == "newer"
    assert not newer.exists()  # the previous export, swapped there, is removed
    # a staging folder left by a publish killed half-way is swept as well
    assert sorted(p.name for p in tmp_path.iterdir()) == ["published_parquet"]


def test_export_folder_falls_back_to_two_renames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from orchestration import publish as publish_module

    # any failure of the exchange (here: a path that does not exist) is no error
    assert publish_module._exchange(tmp_path / "missing", tmp_path) is False
    monkeypatch.setattr(publish_module, "_exchange", lambda first, second: False)
    final = _export_folder(tmp_path / "published_parquet", "old")
    new = _export_folder(tmp_path / ".published_parquet.tmp", "new")
    leftover = _export_folder(tmp_path / ".published_parquet.0badf00d.tmp", "killed")
    previous = publish_module._swap_directory(new, final)
    assert publish_module._retire_previous(final, previous) == []
    assert (final / "lead_scores.parquet").read_text() == "new"
    assert not leftover.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["published_parquet"]
    # a first publish: nothing to exchange with
    first = tmp_path / "first" / "published_parquet"
    assert (
        publish_module._swap_directory(_export_folder(tmp_path / "staged", "first"), first) is None
    )
    assert (first / "lead_scores.parquet").read_text() == "first"


def test_sweep_removes_only_publish_leftovers_and_never_fails_a_publish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from orchestration import publish as publish_module

    monkeypatch.setattr(publish_module, "_exchange", lambda first, second: False)
    final = _export_folder(tmp_path / "published_parquet", "old")
    mine = _export_folder(tmp_path / ".published_parquet.backup.tmp", "a user's folder")
    db_leftover = tmp_path / ".published.duckdb.0badf00d.tmp"
    db_leftover.write_text("a staging copy of the BI file")
    (tmp_path / ".published.duckdb.0badf00d.tmp.wal").write_text("its wal")
    stuck = _export_folder(tmp_path / ".published_parquet.deadbeef.tmp", "killed")

    real_rmtree = shutil.rmtree

    def refuse(path, *args, **kwargs):
        if Path(path) == stuck:
            raise PermissionError(13, "Permission denied", str(path))
        return real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(publish_module.shutil, "rmtree", refuse)
    new = _export_folder(tmp_path / ".published_parquet.0000c3c3.tmp", "new")
    previous = publish_module._swap_directory(new, final)
    warnings = publish_module._retire_previous(final, previous)
    assert (final / "lead_scores.parquet").read_text() == "new"
    assert mine.exists()  # not a name publish gives
    assert len(warnings) == 1 and str(stuck) in warnings[0] and "Permission denied" in warnings[0]
    assert publish_module._sweep(tmp_path / "published.duckdb", with_old=False) == []
    assert not db_leftover.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".published_parquet.backup.tmp",
        ".published_parquet.deadbeef.tmp",
        "published_parquet",
    ]


def test_a_symlinked_export_folder_is_replaced_without_breaking_later_publishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from orchestration import publish as publish_module

    monkeypatch.setattr(publish_module, "_exchange", lambda first, second: False)
    target = _export_folder(tmp_path / "elsewhere", "the link's target")
    final = tmp_path / "published_parquet"
    final.symlink_to(target)
    for n in range(3):
        staged = _export_folder(tmp_path / f".published_parquet.0000000{n}.tmp", f"run {n}")
        previous = publish_module._swap_directory(staged, final)
        assert publish_module._retire_previous(final, previous) == []
        assert (final / "lead_scores.parquet").read_text() == f"run {n}"
    assert (target / "lead_scores.parquet").read_text() == "the link's target"  # never deleted


@pytest.mark.parametrize(
    "failing",
    ["file after two renames", "file after an exchange", "folder aside", "folder into place"],
)
def test_a_failed_publish_leaves_the_file_and_the_folder_as_they_were(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
):
    """The file and the Parquet folder are replaced together or not at all:
    a folder that refuses to be renamed (a mount point, an immutable folder)
    or a file that does (a file mounted into a container) fails the publish,
    and both stay the previous run's. (The folder used to be swapped after
    the file was replaced, and the run said it had left both untouched.)"""
    import errno
    import os

    from orchestration import publish as publish_module

    if failing == "file after an exchange":
        probe = _export_folder(tmp_path / "probe_a", "a"), _export_folder(tmp_path / "probe_b", "b")
        if not publish_module._exchange(*probe):
            pytest.skip("this system cannot exchange two paths atomically")
    else:
        monkeypatch.setattr(publish_module, "_exchange", lambda first, second: False)
    build_marts(settings, version=1)
    publish(settings, run_id="run-1")
    before = {p.name: p.read_bytes() for p in settings.export_dir.iterdir()}
    file_before = sha256(settings.publish_path)
    build_marts(settings, version=2)

    busy = OSError(errno.EBUSY, "Device or resource busy")
    real_replace, real_rename = os.replace, Path.rename

    def replace(source, destination):
        if failing.startswith("file") and Path(destination) == settings.publish_path:
            raise busy
        return real_replace(source, destination)

    def rename(self: Path, target: Path) -> Path:
        aside = failing == "folder aside" and self == settings.export_dir
        into_place = failing == "folder into place" and Path(target) == settings.export_dir
        if (aside or into_place) and self.name != f".{settings.export_dir.name}.old":
            raise busy
        return real_rename(self, target)

    monkeypatch.setattr(publish_module.os, "replace", replace)
    monkeypatch.setattr(Path, "rename", rename)
    # a file that cannot be replaced: the message says what usually causes it
    expected = "Is it a mount point" if failing.startswith("file") else "busy"
    with pytest.raises(OSError, match=expected):
        publish(settings, run_id="run-2")
    assert sha256(settings.publish_path) == file_before
    assert {p.name: p.read_bytes() for p in settings.export_dir.iterdir()} == before
    # nothing is left beside them
    assert sorted(p.name for p in settings.publish_path.parent.iterdir()) == sorted(
        [settings.export_dir.name, settings.publish_path.name]
    )
    # the next publish that can, publishes both
    monkeypatch.undo()
    publish(settings, run_id="run-3")
    con = duckdb.connect(str(settings.publish_path), read_only=True)
    try:
        assert con.execute("select run_id from _publish_info").fetchone() == ("run-3",)
    finally:
        con.close()
    assert '"run_id": "run-3"' in (settings.export_dir / "_publish_info.json").read_text()


def _storage_version(path: Path) -> str:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(
            "select tags['storage_version'] from duckdb_databases() "
            "where database_name = current_database()"
        ).fetchone()[0]
    finally:
        con.close()


def test_the_published_file_opens_in_duckdb_1_4_and_the_version_is_a_setting(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    """DuckDB 2 writes its own format by default, which no 1.x reader (most BI
    drivers) opens; the published file is written for DuckDB 1.4 and later,
    or the version LEADSCORE_PUBLISH_STORAGE_VERSION names (found by the BI
    audit). A file of another version is not built upon: the next publish
    writes a new one."""
    score_day(settings, "2026-03-01", version=1, contacts=50)
    publish(settings, run_id="run-1", by_date=BY_DATE)
    assert _storage_version(settings.publish_path) == "v1.4.0+"
    score_day(settings, "2026-03-02", version=1, contacts=50)
    second = publish(settings, run_id="run-2", by_date=BY_DATE)
    assert second.refreshed["lead_score_history"] == ["2026-03-02"]  # built upon the first
    assert _storage_version(settings.publish_path) == "v1.4.0+"

    monkeypatch.setenv("LEADSCORE_PUBLISH_STORAGE_VERSION", "v1.0.0")
    score_day(settings, "2026-03-03", version=1, contacts=50)
    result = publish(settings, run_id="run-3", by_date=BY_DATE)
    assert _storage_version(settings.publish_path) == "v1.0.0+"
    assert result.refreshed["lead_score_history"] == "all"  # a new file, not a copy
    assert published_rows(settings, "lead_score_history") == warehouse_rows(
        settings, "lead_score_history"
    )
    con = duckdb.connect(str(settings.publish_path), read_only=True)
    try:
        assert con.execute("select storage_version from _publish_info").fetchone() == ("v1.0.0",)
    finally:
        con.close()

    monkeypatch.setenv("LEADSCORE_PUBLISH_STORAGE_VERSION", "1.0")
    with pytest.raises(SettingsError, match=r"LEADSCORE_PUBLISH_STORAGE_VERSION='1\.0': expected"):
        publish(settings, run_id="run-4", by_date=BY_DATE)
    assert _storage_version(settings.publish_path) == "v1.0.0+"


def test_a_previous_export_that_cannot_be_removed_is_a_warning_not_a_failure(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Once the file and the folder are replaced, the publish has happened:
    the previous export left behind is named in a warning, and the next
    publish sweeps it."""
    from orchestration import publish as publish_module

    build_marts(settings, version=1)
    publish(settings, run_id="run-1")
    build_marts(settings, version=2)
    real_rmtree = shutil.rmtree

    def refuse(path, *args, **kwargs):
        if Path(path).name.startswith(f".{settings.export_dir.name}."):
            raise PermissionError(13, "Permission denied", str(path))
        return real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(publish_module.shutil, "rmtree", refuse)
    result = publish(settings, run_id="run-2")
    assert any("Permission denied" in warning for warning in result.warnings), result.warnings
    assert '"run_id": "run-2"' in (settings.export_dir / "_publish_info.json").read_text()
    monkeypatch.undo()
    build_marts(settings, version=3)
    assert publish(settings, run_id="run-3").warnings == []
    assert sorted(p.name for p in settings.publish_path.parent.iterdir()) == sorted(
        [settings.export_dir.name, settings.publish_path.name]
    )
