"""The Dagster resource every asset and check uses to reach the warehouse.

DuckDB allows one read-write process or several read-only ones, never both:
connections here are short-lived (opened per step, closed before dbt runs),
and the job runs its steps one at a time (in-process executor).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from orchestration.abandoned_runs import reap_abandoned_runs, tag_run
from orchestration.settings import (
    Settings,
    SettingsError,
    check_run_settings,
    duckdb_memory_limit,
)
from orchestration.warehouse_lock import WarehouseBusy, warehouse_lock


def sql_string(value: str | Path) -> str:
    """A SQL string literal of a text or path: DuckDB takes no parameter where a
    file name goes (attach, copy ... to, read_csv), so it is quoted, any single
    quote doubled (a home folder like /home/o'brien)."""
    return "'" + str(value).replace("'", "''") + "'"


def connect(
    path: Path, read_only: bool = False, storage_version: str | None = None
) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB connection with the session settings the project relies on.

    `storage_version`: the oldest DuckDB that must read a file this creates
    (an existing file keeps its format)."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    # The memory budget (LEADSCORE_DUCKDB_MEMORY_LIMIT) is set at open, so the
    # buffer manager never grows past it; larger work spills to disk.
    config = {"memory_limit": duckdb_memory_limit()}
    if storage_version is not None:
        config["storage_compatibility_version"] = storage_version
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    # Timestamps without an offset are UTC (SPEC section 2); never the host's zone.
    con.execute("set TimeZone = 'UTC'")
    return con


def check_warehouse_writable(path: Path) -> None:
    """Open the warehouse read-write for an instant. A connection another process
    holds on it (a notebook's or a BI tool's, even read-only) stops the run at
    once, named, instead of every step failing on DuckDB's lock after its
    retries (about 40 s). A warehouse not created yet is nobody's."""
    if not Path(path).exists():
        return
    try:
        connect(path).close()
    except duckdb.IOException as exc:
        raise _busy(path, exc, "no run can write it", "nothing was done") from None


def check_publish_writable(settings: Settings) -> None:
    """Raise SettingsError when the published file's folder or the Parquet
    export's parent folder cannot be written, or the export folder is a mount
    point, before any work: the publish step, after the whole build, would
    fail on it."""
    for variable, folder in (
        ("LEADSCORE_PUBLISH_PATH", settings.publish_path.parent),
        ("LEADSCORE_EXPORT_DIR", settings.export_dir.parent),
    ):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            raise SettingsError(
                f"{variable}: the folder {folder} cannot be written "
                f"({exc.strerror or exc}); nothing was done"
            ) from None
    if os.path.ismount(settings.export_dir):
        raise SettingsError(
            f"LEADSCORE_EXPORT_DIR: {settings.export_dir} is a mount point; each publish puts "
            "a new Parquet folder in its place by renaming it, which a mount point refuses. "
            "Point LEADSCORE_EXPORT_DIR at a folder inside the mount (e.g. "
            f"{settings.export_dir / 'parquet'}); nothing was done"
        )


def _busy(path: Path, exc: duckdb.IOException, what: str, done: str) -> Exception:
    """WarehouseBusy naming the process DuckDB's lock error names; `exc` itself
    when it is another I/O error."""
    if "lock" not in str(exc).lower():
        return exc
    message = " ".join(str(exc).split())
    return WarehouseBusy(
        f"{path} is open in another process, so {what} ({message}); {done}. Close that "
        "connection: BI tools and notebooks read the published file "
        "(LEADSCORE_PUBLISH_PATH), or a copy of the warehouse"
    )


class LeadscoreResource(ConfigurableResource):
    """Paths of the landing folder, working warehouse and published file."""

    landing_dir: str
    warehouse_path: str
    publish_path: str
    export_dir: str
    audit_dir: str

    _run_lock: ExitStack | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Hold the warehouse for the whole run (orchestration/warehouse_lock.py):
        a run started from the UI, a schedule or a sensor stops within a second while a
        `leadscore run` works, and the other way round. The job's steps run in
        this one process (in-process executor), so the run holds it throughout.
        Outside a run (the landing sensor reads the landing folder path) it is
        not taken."""
        if context.run is None:
            return
        stack = ExitStack()
        stack.enter_context(warehouse_lock(Path(self.warehouse_path)))
        try:
            # a setting a later step could not use stops the run before any work
            check_run_settings()
            check_warehouse_writable(Path(self.warehouse_path))
            check_publish_writable(self.settings)
            # Holding the lock, this run is the warehouse's only one: a run of it
            # still STARTED whose process is gone was killed (abandoned_runs.py).
            tag_run(context.instance, context.run.run_id, self.warehouse_path)
            reap_abandoned_runs(
                context.instance,
                self.warehouse_path,
                Path(self.audit_dir),
                context.log,
                current_run_id=context.run.run_id,
            )
        except BaseException:
            stack.close()
            raise
        self._run_lock = stack

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._run_lock is not None:
            self._run_lock.close()
            self._run_lock = None

    @classmethod
    def from_settings(cls, settings: Settings) -> LeadscoreResource:
        return cls(
            landing_dir=str(settings.landing_dir),
            warehouse_path=str(settings.warehouse_path),
            publish_path=str(settings.publish_path),
            export_dir=str(settings.export_dir),
            audit_dir=str(settings.audit_dir),
        )

    @property
    def settings(self) -> Settings:
        base = Settings.from_env()
        return Settings(
            landing_dir=Path(self.landing_dir),
            warehouse_path=Path(self.warehouse_path),
            publish_path=Path(self.publish_path),
            export_dir=Path(self.export_dir),
            audit_dir=Path(self.audit_dir),
            dagster_home=base.dagster_home,
            dbt_threads=base.dbt_threads,
            duckdb_memory_limit=base.duckdb_memory_limit,
        )

    @contextmanager
    def warehouse(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection to the working warehouse. Another process
        that opened it between two steps (a notebook) stops the step with
        WarehouseBusy, naming that process, not with DuckDB's lock error."""
        path = Path(self.warehouse_path)
        try:
            con = connect(path, read_only=read_only)
        except duckdb.IOException as exc:
            raise _busy(
                path, exc, "this step cannot open it", "the run stopped at this step"
            ) from None
        try:
            yield con
        finally:
            con.close()
