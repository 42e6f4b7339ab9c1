"""One run per warehouse at a time, however the run was started.

DuckDB allows one writer, and two runs that overlap (cron and a manual run,
or the Dagster daemon's scheduled run and a `leadscore run`) would both fail
half-way on its file lock. Every run holds an exclusive lock on
`<warehouse>.lock` from before its first step until it ends: `leadscore
run` / `backfill` take it before anything starts, and the Dagster resource
takes it when a run launched from the UI, a schedule or a sensor starts
(re-entrant: a CLI run executes its job in the same process). The OS
releases it when the process ends, however it ends; a second run stops
within a second and names the holder.

dbt runs as a subprocess, which does not share the lock (dagster-dbt starts it
with the parent's descriptors closed). If only the run's process is killed
(`kill -9 <pid>`, the OOM killer), dbt goes on writing the warehouse after
the lock is free. The run records dbt's pid and start time beside the lock
(`<warehouse>.dbt.pid`, removed when dbt exits); a run taking the lock while
that process still runs stops at once and names it, as for a busy lock,
instead of failing half-way on DuckDB's own file lock. A recorded pid now
held by another process (pids are reused) is no holder: its start time
differs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

from orchestration.settings import SettingsError


class WarehouseBusy(Exception):
    """Another leadscore run holds the warehouse."""


#: lock files this process holds, with how many holders nest inside it
_held: dict[Path, int] = {}

#: How long a run keeps trying before it calls the warehouse busy: long enough
#: to outlast `lock_holder`'s probe (the sensor holds the lock for an instant),
#: short enough that a second run still stops within a second.
BUSY_GRACE_SECONDS = 1.0


def lock_path(warehouse_path: Path) -> Path:
    return warehouse_path.with_name(warehouse_path.name + ".lock")


def dbt_pid_path(warehouse_path: Path) -> Path:
    return Path(warehouse_path).with_name(Path(warehouse_path).name + ".dbt.pid")


@contextlib.contextmanager
def dbt_process_recorded(warehouse_path: Path, process: subprocess.Popen) -> Iterator[None]:
    """Record the pid of the dbt process writing the warehouse for the block.
    The record goes when the block ends with dbt exited; a dbt still running
    then (the step was interrupted) stays recorded."""
    path = dbt_pid_path(warehouse_path)
    started = _start_time(process.pid)
    if started is None:  # dbt has already exited: nothing writes
        path.unlink(missing_ok=True)
        yield
        return
    path.write_text(f"{process.pid} {started!r}\n")
    try:
        yield
    finally:
        if process.poll() is not None:
            path.unlink(missing_ok=True)


def _start_time(pid: int) -> float | None:
    """When process `pid` started (seconds since the epoch), or None if none runs."""
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:  # ended (or, never on Linux, its start time unreadable)
        return None


def orphaned_dbt(warehouse_path: Path) -> int | None:
    """The pid of a dbt process an earlier, killed run left writing the
    warehouse, or None. A recorded process that has ended is forgotten, and
    so is a recorded pid another process has taken since (another start time)."""
    path = dbt_pid_path(warehouse_path)
    try:
        fields = path.read_text().split()
    except FileNotFoundError:
        return None
    pid = int(fields[0]) if fields and fields[0].isdigit() else None
    if pid is not None and pid != os.getpid() and _same_process(pid, fields[1:]):
        return pid
    path.unlink(missing_ok=True)
    return None


def _same_process(pid: int, recorded_start: list[str]) -> bool:
    """Whether `pid` is still the process recorded (pid and start time)."""
    if not recorded_start:  # recorded by a version before start times
        return _is_dbt(pid)
    try:
        recorded = float(recorded_start[0])
    except ValueError:
        return False
    started = _start_time(pid)
    return started is not None and abs(started - recorded) < 0.05


def _is_dbt(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.parent.exists():  # no /proc (macOS): the pid alone decides
        return True
    try:
        return b"dbt" in cmdline.read_bytes()
    except OSError:
        return False


@contextlib.contextmanager
def warehouse_lock(warehouse_path: Path) -> Iterator[None]:
    """Hold the warehouse's lock for the block; WarehouseBusy within a second when
    another process holds it."""
    path = lock_path(Path(warehouse_path)).resolve()
    if path in _held:
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+")
    except OSError as exc:  # a file where a folder should be, no permission ...
        raise SettingsError(
            f"LEADSCORE_WAREHOUSE_PATH={warehouse_path}: cannot create its lock file "
            f"{path}: {exc.strerror or exc}"
        ) from None
    with handle:
        if not _try_lock(handle, BUSY_GRACE_SECONDS):
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise WarehouseBusy(
                f"another leadscore run or backfill ({holder}) is using "
                f"{warehouse_path}; nothing was done. Run again when it has finished "
                f"(lock file {path})"
            ) from None
        orphan = orphaned_dbt(warehouse_path)
        if orphan is not None:
            fcntl.flock(handle, fcntl.LOCK_UN)
            raise WarehouseBusy(
                f"an earlier run ended without its dbt build (pid {orphan}), which still "
                f"writes {warehouse_path}; nothing was done. Run again when it has "
                f"finished, or stop it (kill {orphan})"
            )
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, started {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC")
        handle.flush()
        _held[path] = 1
        try:
            yield
        finally:
            del _held[path]
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _try_lock(handle, grace_seconds: float) -> bool:
    """Take the exclusive lock, trying again for `grace_seconds`; False if busy."""
    deadline = time.monotonic() + grace_seconds
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


def lock_holder(warehouse_path: Path) -> str | None:
    """Who holds the warehouse's lock ("pid 123, started ..."), or the dbt build
    a killed run left writing it, or None when it is free. A probe: it takes
    the lock for an instant and gives it back; a run starting at that very
    moment waits for it (`BUSY_GRACE_SECONDS`)."""
    path = lock_path(Path(warehouse_path)).resolve()
    if path in _held:
        return f"pid {os.getpid()} (this process)"
    if not path.exists():
        return None
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            return handle.read().strip() or "another process"
        try:
            orphan = orphaned_dbt(Path(warehouse_path))
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    if orphan is not None:
        return f"pid {orphan}, the dbt build of a run that ended without it"
    return None
