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
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path


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
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        if not _try_lock(handle, BUSY_GRACE_SECONDS):
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise WarehouseBusy(
                f"another leadscore run or backfill ({holder}) is using "
                f"{warehouse_path}; nothing was done. Run again when it has finished "
                f"(lock file {path})"
            ) from None
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
    """Who holds the warehouse's lock ("pid 123, started ..."), or None when it
    is free. A probe: it takes the lock for an instant and gives it back; a run
    starting at that very moment waits for it (`BUSY_GRACE_SECONDS`)."""
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
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None
