"""Write-audit-publish: the BI file is replaced atomically and only after a
complete build; a reader holding it open never blocks or sees a mix."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from orchestration.publish import PublishRefused, publish
from orchestration.resources import connect
from orchestration.settings import Settings


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
