"""Write-audit-publish: copy the audited marts into a new DuckDB file and
rename it over the published one, so BI readers never see a half-written
state and never block a run (SPEC section 6).

Every table of the `marts` schema is published; a Parquet copy of each goes
to LEADSCORE_EXPORT_DIR for BI tools that prefer files.

History tables grow by a day of rows every run (`lead_score_history`: one row
per contact and model per day), so copying them whole would make every
publish slower than the last. A model whose rows of a score date only change
when that date is rebuilt says so in its dbt YAML (`meta: {publish:
by_score_date}`); for those, the new file starts as a copy of the previous
published file and only the score dates that changed are replaced:

- the score date of every dbt invocation that ran a model since the
  previous publish: dbt records each one itself (`audit.dbt_runs`, an
  on-run-end hook), whoever started it and whether it failed half-way; the
  orchestrator's own builds (`audit.dbt_builds`) count too;
- every date whose row count differs between the warehouse and the previous
  publish (a safety net).

A `--full-refresh` since the previous publish copies the tables whole.
"Since" compares `recorded_at` timestamps of one clock (the warehouse's
connections, UTC); a clock stepped back between a publish and a build would
hide that build's date from this test, not from the row-count check.

After the update the row count of every date must match the warehouse, or
nothing is published. The Parquet copy of such a table is a folder with one
partition per date (`<table>/score_date=YYYY-MM-DD/data_0.parquet`); the
files of unchanged dates are hard links to the previous export's. Anything
unexpected (no previous file, other columns, a previous file of an older
version, null score dates, `LEADSCORE_PUBLISH_FULL=1`) falls back to copying
the table whole.

The build status and the change markers are read through the same read-only
attachment of the warehouse the copy uses, so no build can slip in between.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import errno
import json
import os
import re
import shutil
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.resources import connect, sql_string
from orchestration.settings import DBT_PROJECT_DIR, Settings, SettingsError, env_flag

PUBLISHED_SCHEMA = "marts"
#: dbt model meta marking a table whose score dates can be replaced one by one.
BY_DATE_META = {"publish": "by_score_date"}
FULL_ENV = "LEADSCORE_PUBLISH_FULL"
STORAGE_VERSION_ENV = "LEADSCORE_PUBLISH_STORAGE_VERSION"
#: The oldest DuckDB that reads the published file: 1.4, the long-term support
#: release most BI drivers bundle. DuckDB 2.0 would write its own format, which
#: no 1.x reader opens; at 100k contacts the two wrote in the same time and size
#: (v1.0.0, for older drivers, was ~20% slower and bigger).
DEFAULT_STORAGE_VERSION = "v1.4.0"
#: Written into the export folder: which publish its files belong to.
EXPORT_INFO = "_publish_info.json"
#: The Dagster asset that runs publish() (orchestration/assets/publishing.py).
BI_FILE_ASSET_PATH = ("published", "bi_file")


class PublishRefused(Exception):
    """The warehouse does not hold a complete, audited build."""


@dataclass
class PublishResult:
    path: Path
    export_dir: Path
    row_counts: dict[str, int]
    score_date: str | None
    #: per table: "all" (copied whole) or the score dates replaced
    refreshed: dict[str, str | list[str]] = field(default_factory=dict)
    #: score dates whose last build did not complete, and leftovers of
    #: publishes killed half-way that could not be removed
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Build:
    score_date: str | None
    complete: bool
    builds_through: dt.datetime | None
    #: why the marts cannot be published, when `complete` is false
    problem: str = (
        "the last dbt build did not complete (a model or test failed, or only part "
        "of the project was built)"
    )


def by_score_date_tables(manifest_path: Path | None = None) -> frozenset[str]:
    """Models whose YAML declares `meta: {publish: by_score_date}` (from the dbt manifest)."""
    path = manifest_path or DBT_PROJECT_DIR / "target" / "manifest.json"
    if not path.exists():
        # Silently publishing history tables whole, as single files, would
        # change the export layout readers rely on.
        raise FileNotFoundError(f"{path} not found: run `leadscore prepare` (dbt parse) first")
    nodes = json.loads(path.read_text())["nodes"].values()
    return frozenset(
        node.get("alias") or node["name"]
        for node in nodes
        if node["resource_type"] == "model"
        and all(node["config"].get("meta", {}).get(k) == v for k, v in BY_DATE_META.items())
    )


def _table_exists(con: duckdb.DuckDBPyConnection, database: str, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() "
            "where database_name = ? and schema_name = ? and table_name = ?",
            [database, schema, table],
        ).fetchone()[0]
    )


def _last_build(con: duckdb.DuckDBPyConnection) -> _Build:
    """The last orchestrated build, and the newest build or dbt run recorded, in
    the warehouse attached as `warehouse`."""
    if not _table_exists(con, "warehouse", "audit", "dbt_builds"):
        return _Build(None, False, None)
    row = con.execute(
        "select cast(score_date as varchar), is_complete from warehouse.audit.dbt_builds "
        "order by recorded_at desc limit 1"
    ).fetchone()
    if row is None:
        return _Build(None, False, None)
    markers = ["select max(recorded_at) as recorded_at from warehouse.audit.dbt_builds"]
    if _table_exists(con, "warehouse", "audit", "dbt_runs"):
        markers.append("select max(recorded_at) from warehouse.audit.dbt_runs")
    (through,) = con.execute(
        f"select max(recorded_at) from ({' union all '.join(markers)})"
    ).fetchone()
    if row[1] and "failed_nodes" in {
        name for name, _ in _columns(con, "warehouse", "audit", "dbt_runs")
    }:
        # A dbt invocation outside the orchestrator (an analyst's `dbt build`)
        # that failed half-way after the last orchestrated build: the models
        # it rebuilt before the failure are in the marts, untested.
        failed = con.execute(
            "select invocation_id, cast(recorded_at as varchar), failed_nodes "
            "from warehouse.audit.dbt_runs "
            "where failed_nodes > 0 and recorded_at > "
            "(select max(recorded_at) from warehouse.audit.dbt_builds) "
            "order by recorded_at desc limit 1"
        ).fetchone()
        if failed:
            return _Build(
                row[0],
                False,
                through,
                f"dbt invocation {failed[0]} at {failed[1]}, after the last orchestrated "
                f"build, had {failed[2]} failed or skipped node(s), so the marts may hold "
                "models it rebuilt before failing; `leadscore run` rebuilds and tests them",
            )
    return _Build(row[0], bool(row[1]), through)


#: At most this many unfinished dates are named one by one in the warnings.
UNFINISHED_NAMED = 5


def _unfinished_builds(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Warnings for the score dates whose last orchestrated build did not
    complete (a failed model or test, a killed run, a build of some dbt assets
    only): the build records itself incomplete before dbt starts and complete
    after a build of the whole project. Until such a date is
    scored again, its derived rows may be missing or half-updated: a run that
    wrote its history but not its hand-offs loses them for good, since the
    next day compares with that history."""
    if not _table_exists(con, "warehouse", "audit", "dbt_builds"):
        return []
    rows = con.execute(
        """
        select cast(score_date as varchar), run_id, strftime(recorded_at, '%Y-%m-%d %H:%M')
        from warehouse.audit.dbt_builds
        where score_date is not null
        qualify row_number() over (
            partition by score_date order by recorded_at desc, is_complete desc
        ) = 1
            and not is_complete
        order by score_date
        """
    ).fetchall()
    warnings = [
        f"the last build of {date} (run {(run_id or '?')[:8]}, {started} UTC) did not complete, "
        f"and none has since: {date}'s rows of lead_score_history, mql_handoffs and "
        f"account_scores may be missing or out of date; score it again: "
        f"leadscore run --date {date}"
        for date, run_id, started in rows[:UNFINISHED_NAMED]
    ]
    if len(rows) > UNFINISHED_NAMED:
        rest = [date for date, _, _ in rows[UNFINISHED_NAMED:]]
        warnings.append(
            f"{len(rest)} more date(s) from {rest[0]} to {rest[-1]} whose last build did not "
            "complete (the latest row of each date in audit.dbt_builds): score each again"
        )
    return warnings


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir_or_warn(path: Path) -> list[str]:
    """Flush a folder's entries (a rename) to disk; a warning, not an error,
    once the publish has happened."""
    try:
        _fsync_dir(path)
    except OSError as error:
        return [f"could not flush {path} to disk after the rename: {error}"]
    return []


def _replace_file(staging: Path, target: Path) -> None:
    """Rename the new published file over the old one, naming the usual cause
    when the system refuses."""
    try:
        os.replace(staging, target)
    except OSError as error:
        if error.errno in (errno.EBUSY, errno.EXDEV):
            raise OSError(
                error.errno,
                f"{error.strerror}: cannot rename a new file over {target}. Is it a mount "
                "point (a file mounted into a container)? Publishing replaces the file by "
                "renaming a new one into its place: mount its folder instead, or point "
                "LEADSCORE_PUBLISH_PATH at a file inside a mounted folder",
            ) from error
        raise


def storage_version(environ: Mapping[str, str] | None = None) -> str:
    """LEADSCORE_PUBLISH_STORAGE_VERSION: the DuckDB version whose readers must
    open the published file (`v1.4.0` by default, `latest` for this DuckDB's own
    format); DuckDB checks the name. Raises SettingsError for one it does not know."""
    environ = os.environ if environ is None else environ
    value = environ.get(STORAGE_VERSION_ENV, "").strip() or DEFAULT_STORAGE_VERSION
    try:
        duckdb.connect(":memory:", config={"storage_compatibility_version": value}).close()
    except duckdb.Error:
        raise SettingsError(
            f"{STORAGE_VERSION_ENV}={value!r}: expected a DuckDB version such as v1.4.0 or "
            "v1.0.0 (the oldest DuckDB your BI tools read the published file with), or latest"
        ) from None
    return value


def _previous_publish(target: Path, version: str) -> dict | None:
    """What the current published file says about itself, if it can be built
    upon: written for the same DuckDB readers (`version`), by this code."""
    if not target.exists():
        return None
    try:
        con = duckdb.connect(str(target), read_only=True)
    except duckdb.Error:
        return None
    try:
        columns = {
            row[0]
            for row in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'main' and table_name = '_publish_info'"
            ).fetchall()
        }
        if not {"builds_through", "storage_version"} <= columns:
            return None
        row = con.execute(
            "select cast(published_at as varchar), run_id, builds_through, storage_version "
            "from _publish_info"
        ).fetchone()
    finally:
        con.close()
    if row is None or row[2] is None or row[3] != version:
        return None
    return {"published_at": row[0], "run_id": row[1], "builds_through": row[2]}


def _columns(con: duckdb.DuckDBPyConnection, database: str, schema: str, table: str) -> list:
    return con.execute(
        "select column_name, data_type from duckdb_columns() "
        "where database_name = ? and schema_name = ? and table_name = ? order by column_index",
        [database, schema, table],
    ).fetchall()


def _date_counts_differ(source: str, table: str) -> str:
    """SQL: the score dates whose row counts differ between `source` and main."""
    return f"""
        select coalesce(w.score_date, p.score_date) as score_date
        from (select score_date, count(*) as n from {source} group by score_date) as w
        full join (select score_date, count(*) as n from main."{table}" group by score_date) as p
            on w.score_date = p.score_date
        where w.n is distinct from p.n
    """


def _refresh_dates(
    con: duckdb.DuckDBPyConnection, staging_name: str, table: str, builds_after: dt.datetime
) -> list[dt.date] | None:
    """Replace the changed score dates of a by-date table; None: copy it whole."""
    source = f'warehouse.{PUBLISHED_SCHEMA}."{table}"'
    warehouse_columns = _columns(con, "warehouse", PUBLISHED_SCHEMA, table)
    if ("score_date", "DATE") not in warehouse_columns:
        return None
    if _columns(con, staging_name, "main", table) != warehouse_columns:
        return None
    if con.execute(f"select count(*) from {source} where score_date is null").fetchone()[0]:
        return None
    changed = [
        "select score_date from warehouse.audit.dbt_builds "
        "where recorded_at > $after and score_date is not null"
    ]
    if _table_exists(con, "warehouse", "audit", "dbt_runs"):
        refreshed = con.execute(
            "select count(*) from warehouse.audit.dbt_runs "
            "where recorded_at > $after and is_full_refresh",
            {"after": builds_after},
        ).fetchone()[0]
        if refreshed:
            return None
        changed.append(
            "select score_date from warehouse.audit.dbt_runs "
            "where recorded_at > $after and score_date is not null"
        )
    con.execute(
        f"""
        create or replace temp table _dates as
        {_date_counts_differ(source, table)}
        union
        {" union ".join(changed)}
        """,
        {"after": builds_after},
    )
    dates = [row[0] for row in con.execute("select score_date from _dates order by 1").fetchall()]
    if dates:
        con.execute(
            f'delete from main."{table}" where score_date in (select score_date from _dates)'
        )
        con.execute(
            f'insert into main."{table}" select * from {source} '
            "where score_date in (select score_date from _dates)"
        )
    # The safety net: after the update, every date holds the warehouse's row count.
    wrong = con.execute(f"select count(*) from ({_date_counts_differ(source, table)})")
    if wrong.fetchone()[0]:
        raise RuntimeError(
            f"publish: incremental update of {table} left row counts that differ from the "
            "warehouse; nothing was published (set LEADSCORE_PUBLISH_FULL=1 to copy it whole)"
        )
    return dates


def _export_by_date(
    con: duckdb.DuckDBPyConnection,
    table: str,
    staging_export: Path,
    previous_export: Path | None,
    refreshed: list[dt.date] | None,
) -> None:
    """Write `<table>/score_date=D/data_0.parquet`, reusing unchanged dates' files."""
    folder = staging_export / table
    folder.mkdir()
    changed = set(refreshed or [])
    to_write: list[dt.date] = []
    for (score_date,) in con.execute(
        f'select distinct score_date from main."{table}" order by score_date'
    ).fetchall():
        partition = f"score_date={score_date.isoformat()}"
        old = previous_export / table / partition if previous_export else None
        if refreshed is not None and score_date not in changed and old and old.is_dir():
            (folder / partition).mkdir()
            for file in old.iterdir():
                _link_or_copy(file, folder / partition / file.name)
        else:
            to_write.append(score_date)
    if not to_write:
        return
    scratch = staging_export / f".{table}.new"
    con.execute("create or replace temp table _dates (score_date date)")
    con.executemany("insert into _dates values (?)", [[d] for d in to_write])
    con.execute(
        f'copy (select * from main."{table}" where score_date in (select score_date from _dates)) '
        f"to {sql_string(scratch)} (format parquet, partition_by (score_date))"
    )
    for partition in scratch.iterdir():
        partition.rename(folder / partition.name)
    scratch.rmdir()


def _has_score_dates(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """A date column without nulls: the table can be exported one partition per date."""
    if ("score_date", "DATE") not in _columns(con, "warehouse", PUBLISHED_SCHEMA, table):
        return False
    nulls = con.execute(f'select count(*) from main."{table}" where score_date is null')
    return not nulls.fetchone()[0]


def _link_or_copy(source: Path, destination: Path) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def publish(
    settings: Settings, run_id: str = "", by_date: frozenset[str] | None = None
) -> PublishResult:
    """Publish the marts atomically; raise PublishRefused if the last build is incomplete.

    `by_date`: the tables to update by score date (default: from the dbt manifest).
    """
    by_date = by_score_date_tables() if by_date is None else by_date
    target = settings.publish_path
    target.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:8]
    staging_db = target.with_name(f".{target.name}.{token}.tmp")
    staging_export = settings.export_dir.with_name(f".{settings.export_dir.name}.{token}.tmp")
    full = env_flag(FULL_ENV)
    version = storage_version()
    previous = None if full or not by_date else _previous_publish(target, version)
    previous_export = _matching_export(settings.export_dir, previous)
    row_counts: dict[str, int] = {}
    refreshed: dict[str, str | list[str]] = {}
    try:
        if previous is not None:
            # The starting point; the published file itself is never written to.
            shutil.copyfile(target, staging_db)
        con = connect(staging_db, storage_version=version)
        try:
            con.execute(f"attach {sql_string(settings.warehouse_path)} as warehouse (read_only)")
            staging_name = con.execute("select current_database()").fetchone()[0]
            build = _last_build(con)
            if not build.complete:
                raise PublishRefused(f"{build.problem}; the published file was left untouched")
            unfinished = _unfinished_builds(con)
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
            # Only by-date tables are kept from the previous file; dropping the
            # others before rewriting them lets their blocks be reused (the
            # file would otherwise grow by their size every run).
            for (kept,) in con.execute(
                "select table_name from duckdb_tables() "
                "where database_name = current_database() and schema_name = 'main'"
            ).fetchall():
                if kept not in tables or kept not in by_date:
                    con.execute(f'drop table main."{kept}"')
            con.execute("checkpoint")
            staging_export.mkdir(parents=True)
            for table in tables:
                dates = None
                if (
                    previous is not None
                    and table in by_date
                    and _table_exists(con, staging_name, "main", table)
                ):
                    dates = _refresh_dates(con, staging_name, table, previous["builds_through"])
                if dates is None:
                    con.execute(
                        f'create or replace table main."{table}" as '
                        f'select * from warehouse.{PUBLISHED_SCHEMA}."{table}"'
                    )
                    refreshed[table] = "all"
                else:
                    refreshed[table] = [d.isoformat() for d in dates]
                row_counts[table] = con.execute(f'select count(*) from main."{table}"').fetchone()[
                    0
                ]
                if table in by_date and _has_score_dates(con, table):
                    _export_by_date(con, table, staging_export, previous_export, dates)
                else:
                    con.execute(
                        f'copy main."{table}" '
                        f"to {sql_string(staging_export / (table + '.parquet'))} (format parquet)"
                    )
            con.execute(
                "create or replace table main._publish_info as select "
                "cast(now() as timestamp) as published_at, "
                "cast(? as date) as score_date, cast(? as varchar) as run_id, "
                "cast(? as timestamp) as builds_through, cast(? as varchar) as storage_version",
                [build.score_date, run_id, build.builds_through, version],
            )
            (published_at,) = con.execute(
                "select cast(published_at as varchar) from main._publish_info"
            ).fetchone()
            con.execute("detach warehouse")
            con.execute("checkpoint")
        finally:
            con.close()
        (staging_export / EXPORT_INFO).write_text(
            json.dumps({"published_at": published_at, "run_id": run_id}) + "\n"
        )
        with staging_db.open("rb") as handle:
            os.fsync(handle.fileno())
        # The folder first: it is the step that can fail (a folder that refuses
        # to be renamed). Until the file is replaced it is put back, so a
        # failed publish leaves the file and the folder as they were.
        swapped_out = _swap_directory(staging_export, settings.export_dir)
        try:
            # The atomic step: readers holding the old file keep reading the old inode.
            _replace_file(staging_db, target)
        except BaseException:
            _unswap_directory(staging_export, settings.export_dir, swapped_out)
            raise
        warnings = unfinished + _retire_previous(settings.export_dir, swapped_out)
        warnings += _fsync_dir_or_warn(target.parent)
        warnings += _sweep(target, with_old=False)
    finally:
        for leftover in (staging_db, Path(str(staging_db) + ".wal")):
            leftover.unlink(missing_ok=True)
        # Not an error of its own: a publish that happened already warned
        # (_retire_previous), one that failed raises its cause, and the next
        # publish sweeps what is left.
        if staging_export.exists():
            _remove(staging_export)
    return PublishResult(
        target, settings.export_dir, row_counts, build.score_date, refreshed, warnings
    )


def _matching_export(export_dir: Path, previous: dict | None) -> Path | None:
    """The previous export folder, if it belongs to the previous published file.

    The folder is put in place before the file; a crash in between leaves a
    folder newer than the file, whose files must not be reused.
    """
    if previous is None:
        return None
    try:
        info = json.loads((export_dir / EXPORT_INFO).read_text())
    except (OSError, ValueError):
        return None
    if (
        info.get("published_at") != previous["published_at"]
        or info.get("run_id") != (previous["run_id"])
    ):
        return None
    return export_dir


#: renameat2(2) flag: swap two paths in one atomic step (Linux 3.15+, glibc 2.28+).
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths atomically (renameat2 RENAME_EXCHANGE).

    False where it did not happen, for whatever reason (not Linux, an old
    glibc, a file system without the flag, a sandbox refusing the call): the
    caller falls back to two renames, which raise if the move is impossible.
    """
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL(None)
        renameat2 = libc.renameat2
    except (AttributeError, OSError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    renameat2.restype = ctypes.c_int
    return (
        renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
        == 0
    )


def _staging_name(path: Path) -> re.Pattern[str]:
    """The names publish gives its staging copies of `path` (`.<name>.<token>.tmp`)."""
    return re.compile(rf"\.{re.escape(path.name)}\.[0-9a-f]{{8}}\.tmp(\.wal)?")


def _remove(path: Path) -> str | None:
    """Remove a file, symlink or folder; a message instead of an error."""
    try:
        if path.is_symlink() or not path.is_dir():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path)
    except OSError as error:
        return f"could not remove {path} (left by a publish killed half-way): {error}"
    return None


def _sweep(final: Path, *, with_old: bool) -> list[str]:
    """Remove what publishes killed half-way left beside `final`: its staging
    copies (and `.<name>.old`, the export folder's). One run at a time
    publishes (the warehouse lock), so none is in use. Best effort: what
    cannot be removed is reported, and does not fail a publish that has
    already happened."""
    pattern = _staging_name(final)
    leftovers = [final.with_name(f".{final.name}.old")] if with_old else []
    if final.parent.is_dir():
        leftovers += [p for p in final.parent.iterdir() if pattern.fullmatch(p.name)]
    messages = [_remove(p) for p in leftovers if p.exists() or p.is_symlink()]
    return [m for m in messages if m]


def _swap_directory(new: Path, final: Path) -> Path | None:
    """Put the folder `new` in place of `final`: in one atomic exchange where
    the system allows it (a reader sees the old folder or the new one, never
    none), else with two renames (the folder is missing between them; should
    the second fail, the previous folder is put back before the error is
    raised). Returns where the previous folder now is (`new`'s path after an
    exchange, `.<name>.old` after two renames, None if there was none), for
    `_retire_previous` or `_unswap_directory`."""
    if not new.is_dir():
        raise FileNotFoundError(f"publish: the new export folder {new} is missing")
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.is_dir() and not final.is_symlink() and _exchange(new, final):
        return new
    old = final.with_name(f".{final.name}.old")
    if old.exists() or old.is_symlink():
        message = _remove(old)
        if message:
            raise OSError(message)
    if not (final.exists() or final.is_symlink()):
        new.rename(final)
        return None
    final.rename(old)
    try:
        new.rename(final)
    except BaseException:
        old.rename(final)
        raise
    return old


def _unswap_directory(new: Path, final: Path, previous: Path | None) -> None:
    """Undo `_swap_directory` (the file could not be replaced): the new folder
    goes back to `new`, the previous one to `final`."""
    try:
        if previous == new:
            if not _exchange(new, final):
                raise OSError(f"could not exchange {new} and {final} again")
            return
        final.rename(new)
        if previous is not None:
            previous.rename(final)
    except OSError as error:
        raise OSError(
            f"publish: the published file was not replaced, and the Parquet folder {final} "
            f"could not be put back as it was ({error}): it may hold this run's export while "
            "the file holds the previous run's; run again to publish both"
        ) from error


def _retire_previous(final: Path, previous: Path | None) -> list[str]:
    """Remove the previous export folder and what publishes killed half-way
    left beside `final`. Returns warnings about what could not be removed: the
    publish has happened."""
    message = _remove(previous) if previous is not None and previous.exists() else None
    return ([message] if message else []) + _sweep(final, with_old=True)
