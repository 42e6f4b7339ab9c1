"""Write-audit-publish: copy the audited marts into a new DuckDB file and
rename it over the published one, so BI readers never see a half-written
state and never block a run (SPEC section 6).

Every table of the `marts` schema is published; a Parquet copy of each goes
to LEADSCORE_EXPORT_DIR for BI tools that prefer files.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from orchestration.resources import connect
from orchestration.settings import Settings

PUBLISHED_SCHEMA = "marts"


class PublishRefused(Exception):
    """The warehouse does not hold a complete, audited build."""


@dataclass
class PublishResult:
    path: Path
    export_dir: Path
    row_counts: dict[str, int]
    score_date: str | None


def _last_build(settings: Settings) -> tuple[str | None, bool]:
    con = connect(settings.warehouse_path, read_only=True)
    try:
        exists = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'audit' and table_name = 'dbt_builds'"
        ).fetchone()[0]
        if not exists:
            return None, False
        row = con.execute(
            "select cast(score_date as varchar), is_complete from audit.dbt_builds "
            "order by recorded_at desc limit 1"
        ).fetchone()
    finally:
        con.close()
    return (row[0], bool(row[1])) if row else (None, False)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(settings: Settings, run_id: str = "") -> PublishResult:
    """Publish the marts atomically; raise PublishRefused if the last build is incomplete."""
    score_date, complete = _last_build(settings)
    if not complete:
        raise PublishRefused(
            "the last dbt build did not complete (a model or test failed, or only part of the "
            "project was built); the published file was left untouched"
        )
    target = settings.publish_path
    target.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:8]
    staging_db = target.with_name(f".{target.name}.{token}.tmp")
    staging_export = settings.export_dir.with_name(f".{settings.export_dir.name}.{token}.tmp")
    row_counts: dict[str, int] = {}
    try:
        con = connect(staging_db)
        try:
            con.execute(f"attach '{settings.warehouse_path}' as warehouse (read_only)")
            tables = [
                row[0]
                for row in con.execute(
                    "select table_name from duckdb_tables() "
                    "where database_name = 'warehouse' and schema_name = ? order by table_name",
                    [PUBLISHED_SCHEMA],
                ).fetchall()
            ]
            if not tables:
                raise PublishRefused(f"the warehouse has no {PUBLISHED_SCHEMA} tables to publish")
            staging_export.mkdir(parents=True)
            for table in tables:
                con.execute(
                    f'create table main."{table}" as '
                    f'select * from warehouse.{PUBLISHED_SCHEMA}."{table}"'
                )
                row_counts[table] = con.execute(f'select count(*) from main."{table}"').fetchone()[
                    0
                ]
                con.execute(
                    f"copy main.\"{table}\" to '{staging_export / (table + '.parquet')}' "
                    "(format parquet)"
                )
            con.execute(
                "create table main._publish_info as select "
                "cast(now() as timestamp) as published_at, "
                "cast(? as date) as score_date, cast(? as varchar) as run_id",
                [score_date, run_id],
            )
            con.execute("detach warehouse")
            con.execute("checkpoint")
        finally:
            con.close()
        with staging_db.open("rb") as handle:
            os.fsync(handle.fileno())
        # The atomic step: readers holding the old file keep reading the old inode.
        os.replace(staging_db, target)
        _fsync_dir(target.parent)
        _swap_directory(staging_export, settings.export_dir)
    finally:
        for leftover in (staging_db, Path(str(staging_db) + ".wal")):
            leftover.unlink(missing_ok=True)
        if staging_export.exists():
            shutil.rmtree(staging_export)
    return PublishResult(target, settings.export_dir, row_counts, score_date)


def _swap_directory(new: Path, final: Path) -> None:
    """Replace the export folder with minimal exposure (two renames)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old = final.with_name(f".{final.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        final.rename(old)
    new.rename(final)
    if old.exists():
        shutil.rmtree(old)
