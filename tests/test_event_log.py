"""The pooled SQLite event log (orchestration/event_log.py): the dagster.yaml
leadscore writes selects it, real runs store the same events Dagster's own
class reads back from the same files, and its engines are bounded, not shared
with a forked process and closed before a wipe deletes files."""

import os
import sqlite3
import time
from pathlib import Path

import pytest
from dagster import (
    AssetCheckResult,
    AssetKey,
    DagsterInstance,
    Definitions,
    asset,
    asset_check,
    define_asset_job,
)
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from orchestration import cli
from orchestration.event_log import PooledSqliteEventLogStorage
from orchestration.settings import Settings


@asset
def numbers() -> list[int]:
    return [1, 2, 3]


@asset_check(asset=numbers)
def numbers_are_positive() -> AssetCheckResult:
    return AssetCheckResult(passed=True)


JOB = Definitions(
    assets=[numbers],
    asset_checks=[numbers_are_positive],
    jobs=[define_asset_job("numbers_job", selection=[numbers])],
).resolve_job_def("numbers_job")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(cli.DAGSTER_YAML)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def test_leadscore_writes_the_pooled_storage_into_its_own_dagster_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # _prepare_environment exports the settings: keep them out of later tests
    monkeypatch.setattr(os, "environ", os.environ.copy())
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "new_home"))
    settings = Settings.from_env()
    cli._prepare_environment(settings)
    config = settings.dagster_home / "dagster.yaml"
    assert config.read_text() == cli.DAGSTER_YAML

    config.write_text(cli._EARLIER_DAGSTER_YAML)  # what earlier versions wrote
    cli._prepare_environment(settings)
    assert config.read_text() == cli.DAGSTER_YAML

    own = "telemetry:\n  enabled: true\n"  # the user's own: untouched
    config.write_text(own)
    cli._prepare_environment(settings)
    assert config.read_text() == own


def test_runs_store_what_dagsters_own_storage_reads_back(home: Path):
    with DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        results = [JOB.execute_in_process(instance=instance) for _ in range(3)]
        assert all(result.success for result in results)
        stored = {r.run_id: len(instance.all_logs(r.run_id)) for r in results}
        latest = instance.get_latest_materialization_event(AssetKey("numbers"))

    plain = SqliteEventLogStorage(str(home / "history" / "runs"))
    try:
        for run_id, count in stored.items():
            assert count > 5
            assert len(plain.get_logs_for_run(run_id)) == count
        # the cross-run index (asset history in the UI) has the latest materialization
        assert latest is not None and latest.run_id == results[-1].run_id
        records = plain.fetch_materializations(AssetKey("numbers"), limit=10).records
        assert [r.run_id for r in records] == [r.run_id for r in reversed(results)]
    finally:
        plain.dispose()


def test_engines_are_bounded_and_closed_before_a_wipe(home: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(PooledSqliteEventLogStorage, "MAX_ENGINES", 2)
    with DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        run_ids = [JOB.execute_in_process(instance=instance).run_id for _ in range(3)]
        assert len(storage._engines) == 2

        storage.wipe()
        # only the index (emptied, not deleted, by the wipe) is open again
        assert set(storage._engines) <= {"index"}
        assert not any((home / "history" / "runs" / f"{r}.db").exists() for r in run_ids)
        assert all(instance.all_logs(r) == [] for r in run_ids)
        # after the wipe, a run writes a new file through a new engine
        after = JOB.execute_in_process(instance=instance)
        assert (home / "history" / "runs" / f"{after.run_id}.db").exists()
        assert len(instance.all_logs(after.run_id)) > 5


def test_write_ahead_logged_files_commit_without_waiting_for_the_disk(home: Path):
    with DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        run_id = JOB.execute_in_process(instance=instance).run_id
        for shard in ("index", run_id):
            with storage._connect(shard) as conn:
                assert conn.exec_driver_sql("pragma journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("pragma synchronous").scalar() == 1  # NORMAL

    # a file in another journal mode keeps SQLite's default, FULL (2)
    legacy = home / "history" / "runs" / "legacy.db"
    sqlite3.connect(legacy).execute("create table t (x)").connection.close()
    storage = PooledSqliteEventLogStorage(str(home / "history" / "runs"))
    try:
        with storage._engine("legacy").connect() as conn:
            assert conn.exec_driver_sql("pragma journal_mode").scalar() == "delete"
            assert conn.exec_driver_sql("pragma synchronous").scalar() == 2
    finally:
        storage.dispose()


def test_a_table_once_found_is_not_looked_up_again(home: Path, monkeypatch: pytest.MonkeyPatch):
    lookups: list[str] = []
    dagsters = SqliteEventLogStorage.has_table

    def counted(self: SqliteEventLogStorage, table_name: str) -> bool:
        lookups.append(table_name)
        return dagsters(self, table_name)

    monkeypatch.setattr(SqliteEventLogStorage, "has_table", counted)
    with DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        for _ in range(3):  # each run stores asset check events
            assert JOB.execute_in_process(instance=instance).success
        assert lookups.count("asset_check_executions") == 1
        assert storage.has_table("asset_check_executions")
        assert not storage.has_table("no_such_table")
        assert not storage.has_table("no_such_table")
        assert lookups.count("no_such_table") == 2  # a missing table is asked again
        assert lookups.count("asset_check_executions") == 1


def test_a_forked_process_opens_its_own_engines(home: Path):
    with DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        JOB.execute_in_process(instance=instance)
        parents = dict(storage._engines)
        assert parents
        storage._engines_pid = os.getpid() + 1  # as seen from a forked child
        JOB.execute_in_process(instance=instance)
        assert storage._engines_pid == os.getpid()
        assert not set(map(id, parents.values())) & set(map(id, storage._engines.values()))


def test_live_run_logs_see_events_while_the_writer_keeps_its_connection(home: Path):
    """`dagster dev` watches a run's file: a commit through a kept-open
    connection only changes the write-ahead log, which must wake it too."""
    with DagsterInstance.from_config(str(home)) as writer:
        run = writer.get_run_by_id(JOB.execute_in_process(instance=writer).run_id)
        assert run.run_id in writer.event_log_storage._engines  # kept open
        seen: list[str] = []
        reader = PooledSqliteEventLogStorage(str(home / "history" / "runs"))
        try:
            reader.watch(run.run_id, None, lambda entry, _cursor: seen.append(entry.message))
            time.sleep(0.5)  # let the observer start
            before = len(seen)
            writer.report_engine_event("written while the connection stays open", run)
            deadline = time.monotonic() + 10
            while len(seen) == before and time.monotonic() < deadline:
                time.sleep(0.1)
            assert "written while the connection stays open" in seen[before:]
        finally:
            reader.dispose()
