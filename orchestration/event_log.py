"""Dagster's SQLite event log, with one SQLAlchemy engine per database file.

Dagster's own `SqliteEventLogStorage` creates, connects and disposes a new
engine for every read and write (`NullPool`): two or three times per event,
and a daily run stores about 1,050 events (a materialization per model, a
planned and an evaluated check per dbt test). Measured on the sample data
(`leadscore run`, same warehouse, twice each): 58.4 / 54.8 s with Dagster's
class, 43.5 / 45.8 s with this one.

Only connection handling differs, plus two savings measured in session 22
(a 100k-contact rescore, three runs each way: the time spent storing events
4.9 / 3.8 / 4.4 s -> 2.1 / 2.2 / 1.9 s): a WAL-mode file's connections use
`synchronous = NORMAL` (below), and a table found once by `has_table` is
not looked up again (Dagster's opens a new engine for it at every asset
check event). The files are Dagster's own layout
(`$DAGSTER_HOME/history/runs/<run_id>.db` plus `index.db`), so `dagster dev`,
older runs and Dagster's class read the same history. Engines are kept for
the few most recent database files (a run writes its own file and the index),
are never shared with a forked child process, and are disposed before `wipe`
deletes files and when the instance is disposed. The files are in WAL mode:
with a connection kept open, a commit changes `<run_id>.db-wal` only, so the
watcher behind `dagster dev`'s live run logs wakes on that file too. Every
use still holds the storage's lock, as in Dagster's class, so one connection
is never used by two threads at once.

`leadscore` selects this class in the `dagster.yaml` it writes
(`orchestration.cli.DAGSTER_YAML`); a `dagster.yaml` of your own is left as
it is.
"""

import contextlib
import glob
import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import dagster._check as check
from dagster import Field, StringSource
from dagster._core.storage.event_log.base import EventHandlerFn
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
    SqliteEventLogStorageWatchdog,
)
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from watchdog.events import FileSystemEvent
from watchdog.observers import Observer


def default_base_dir() -> str:
    """Where Dagster's default SQLite storage keeps the event logs."""
    home = os.environ.get("DAGSTER_HOME", "").strip()
    if not home:
        raise check.CheckError("DAGSTER_HOME must be set to locate the event log")
    return os.path.join(home, "history", "runs")


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` that keeps an engine per database file instead of one per call."""

    #: engines kept open; the least recently used one beyond this is disposed
    MAX_ENGINES = 8

    def __init__(self, base_dir: str | None = None, inst_data: ConfigurableClassData | None = None):
        # set first: Dagster's __init__ may already connect
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        self._tables_seen: set[str] = set()
        super().__init__(base_dir or default_base_dir(), inst_data=inst_data)

    @classmethod
    def config_type(cls) -> Mapping[str, Any]:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(  # ty: ignore[invalid-method-override]
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> "PooledSqliteEventLogStorage":
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        """The shard's engine; the caller holds `self._db_lock`."""
        if self._engines_pid != os.getpid():
            # A forked child must not use, nor close, the parent's connections.
            for inherited in self._engines.values():
                inherited.dispose(close=False)
            self._engines = OrderedDict()
            self._engines_pid = os.getpid()
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = create_engine(
            self.conn_string_for_shard(shard),
            # Connections may be used from any thread: the lock serialises them.
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )
        event.listen(engine, "connect", _normal_sync_in_wal_mode)
        self._engines[shard] = engine
        while len(self._engines) > self.MAX_ENGINES:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            check.str_param(shard, "shard")
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
                # A new file is switched to WAL mode by _initdb, after its first
                # connection was opened: reconnect, so the pragma below applies.
                engine.dispose()
            with engine.connect() as conn, conn.begin():
                yield conn

    def _dispose_engines(self) -> None:
        """Close every kept connection; the caller holds `self._db_lock`."""
        engines, self._engines = list(self._engines.values()), OrderedDict()
        for engine in engines:
            engine.dispose()

    def wipe(self) -> None:
        # Dagster's wipe, with the connections closed and the run files deleted
        # under the lock, so no thread can reopen a file that is being deleted.
        with self._db_lock:
            self._dispose_engines()
            for filename in glob.glob(os.path.join(self._base_dir, "*.db*")):
                name = os.path.basename(filename)
                if name.split(".db")[0] != INDEX_SHARD_NAME and name.endswith(
                    (".db", ".db-wal", ".db-shm")
                ):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(filename)
            self._initialized_dbs = set()
            self._tables_seen = set()
        self._wipe_index()

    def has_table(self, table_name: str) -> bool:
        # Dagster's opens a new engine per call, and storing an asset check's
        # event asks it each time (two events per dbt test). Dagster's
        # migrations add tables, never drop them: a table seen stays.
        if table_name in self._tables_seen:
            return True
        found = super().has_table(table_name)
        if found:
            self._tables_seen.add(table_name)
        return found

    def watch(self, run_id: str, cursor: str | None, callback: EventHandlerFn) -> None:
        # Dagster's, with a watchdog that also wakes on the write-ahead log (below).
        if not self._obs:
            self._obs = Observer()
            self._obs.start()
        watchdog = _RunLogWatchdog(self, run_id, callback, cursor)
        self._watchers[run_id][callback] = (
            watchdog,
            self._obs.schedule(watchdog, self._base_dir, recursive=True),
        )

    def dispose(self) -> None:
        with self._db_lock:
            self._dispose_engines()
        super().dispose()


def _normal_sync_in_wal_mode(dbapi_connection: Any, _record: Any) -> None:
    """`synchronous = NORMAL` on a connection to a WAL-mode file (Dagster creates
    its files in WAL mode): a commit appends to the write-ahead log without
    waiting for it to reach the disk. The file stays consistent; a power loss
    (not a crash of the process) may lose the last events written. SQLite's
    default, FULL, waited for the disk at each of a run's ~1,050 event commits.
    In a rollback-journal mode NORMAL can corrupt a file on a power loss, so
    such a file keeps FULL."""
    cursor = dbapi_connection.cursor()
    try:
        (mode,) = cursor.execute("pragma journal_mode").fetchone()
        if str(mode).lower() == "wal":
            cursor.execute("pragma synchronous = normal")
    finally:
        cursor.close()


class _RunLogWatchdog(SqliteEventLogStorageWatchdog):
    """Dagster's watcher of a run's events (live logs in `dagster dev`), woken by
    changes to `<run_id>.db-wal` too: the files are in WAL mode, and while the
    writing process keeps its connection open a commit changes only the
    write-ahead log (`<run_id>.db` changes at a checkpoint). Dagster's own
    watcher relies on each write closing the connection, which checkpoints."""

    @property
    def patterns(self) -> list[str]:
        return [self._log_path, self._log_path + "-wal"]

    def on_modified(self, event: FileSystemEvent) -> None:
        self._process_log()
