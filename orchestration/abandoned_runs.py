"""Runs whose process ended without finishing them (kill -9, the OOM killer, a
power cut) are marked failed.

A run process reports its own end to Dagster's run history; one killed hard
reports nothing, and its run stays STARTED for ever. The landing sensor, which
waits while a run of the job is in progress, would then wait for ever, and the
failure would be neither recorded in run_failures.jsonl nor alerted.

Every run tags itself, once it holds the warehouse's lock, with the warehouse
and its process (host and pid), the run id that wrote the tags and the
process's pid namespace (the machine's boot id and the namespace's inode). A
run so tagged that is still STARTED (or CANCELING) while its process is gone
was abandoned: the next run that takes the warehouse's lock, and the landing
sensor, mark it failed with a message saying so, and record it like any failed
run. Left alone:
- a run whose tags another run wrote: Dagster copies a run's tags to its
  re-execution and to an automatic retry, so until the new run's own process
  tags it, it carries its parent's (ended) process;
- a run still STARTING (its process has not tagged it yet);
- a run whose process ran in another pid namespace (another host, container
  or boot: a pid there says nothing here), or whose pid is alive (even
  reused).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

WAREHOUSE_TAG = "leadscore/warehouse"
PROCESS_TAG = "leadscore/process"
#: The run whose process wrote the tags (a re-execution inherits its parent's).
TAGGED_BY_TAG = "leadscore/tagged_by_run"
#: Where the pid is meaningful: boot id and pid namespace of the process.
PID_NAMESPACE_TAG = "leadscore/pid_namespace"
#: The states of a run whose process tagged it and is (or was) working. Not
#: STARTING: its process has not tagged it yet, and a re-execution is STARTING
#: with its parent's tags.
RUNNING_STATUSES = [DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]


def _warehouse_key(warehouse_path: Path | str) -> str:
    return str(Path(warehouse_path).resolve())


def pid_namespace() -> str:
    """This process's boot id and pid namespace ('unknown' without Linux's /proc:
    the host name alone then says where a pid is meaningful)."""
    try:
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return "unknown"
    return f"{boot_id}:{namespace}"


def tag_run(instance: DagsterInstance, run_id: str, warehouse_path: Path | str) -> None:
    """Tag a run holding the warehouse's lock with the warehouse and this process."""
    instance.add_run_tags(
        run_id,
        {
            WAREHOUSE_TAG: _warehouse_key(warehouse_path),
            PROCESS_TAG: f"{socket.gethostname()}:{os.getpid()}",
            TAGGED_BY_TAG: run_id,
            PID_NAMESPACE_TAG: pid_namespace(),
        },
    )


def _abandoned(run_id: str, tags: Mapping[str, str]) -> bool:
    """True when the process that tagged this run is known to have ended."""
    if tags.get(TAGGED_BY_TAG) != run_id:
        return False  # tags inherited from another run (a re-execution, a retry)
    if tags.get(PID_NAMESPACE_TAG) != pid_namespace():
        return False  # its pid means another process table's
    host, _, pid = tags.get(PROCESS_TAG, "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's (a reused pid)
        return False
    return False


#: In the warning logged for each run marked failed; `leadscore run`'s summary
#: repeats those lines (the run's log is off the terminal with --quiet).
ABANDONED_WARNING = "was left unfinished by its process"


def reap_abandoned_runs(
    instance: DagsterInstance,
    warehouse_path: Path | str,
    audit_dir: Path,
    log: Any,
    current_run_id: str | None = None,
) -> list[str]:
    """Mark this warehouse's abandoned runs failed and record them; their run ids."""
    from orchestration.hooks import WEBHOOK_ENV, record_run_failure

    records = instance.get_run_records(
        filters=RunsFilter(
            statuses=RUNNING_STATUSES, tags={WAREHOUSE_TAG: _warehouse_key(warehouse_path)}
        )
    )
    reaped = []
    for record in records:
        run = record.dagster_run
        process = run.tags.get(PROCESS_TAG, "")
        if run.run_id == current_run_id or not _abandoned(run.run_id, run.tags):
            continue
        instance.report_run_failed(
            run,
            message=(
                f"the process running it ({process}) ended without finishing it "
                "(killed?); marked failed by a later leadscore run"
            ),
        )
        log.warning(
            f"run {run.run_id} of {run.job_name} {ABANDONED_WARNING} "
            f"({process}), which is gone; marked failed"
        )
        record_run_failure(
            instance,
            instance.get_run_by_id(run.run_id),
            audit_dir,
            os.environ.get(WEBHOOK_ENV, "").strip() or None,
            log,
        )
        reaped.append(run.run_id)
    return reaped
