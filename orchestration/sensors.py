"""The landing sensor: run the daily job for today's UTC score date when files
in the landing folder are new or changed (off by default).

The cursor is a fingerprint of the landing folder's file names, sizes and
modification times (no file is read). Hidden files and folders (a name
starting with '.', e.g. the demo-data marker or an upload in progress written
as `.accounts.csv.tmp`) are ignored. While a run of the job is queued or in
progress, or while any other run holds the warehouse's lock (a `leadscore
run` from cron or a shell, which Dagster does not list), the sensor waits,
without moving its cursor, so that the warehouse never has two writers and
the change is picked up once that run is over. A run whose process was killed
hard stays STARTED in the run history; the sensor marks it failed first
(abandoned_runs.py), so it is not waited for.
"""

import datetime as dt
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from orchestration.abandoned_runs import reap_abandoned_runs
from orchestration.resources import LeadscoreResource
from orchestration.settings import env_int
from orchestration.warehouse_lock import lock_holder

INTERVAL_ENV = "LEADSCORE_SENSOR_INTERVAL_SECONDS"
DEFAULT_INTERVAL_SECONDS = 300
#: A run in one of these states means the warehouse has (or is about to have) a writer.
ACTIVE_RUN_STATUSES = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]


def sensor_interval_seconds() -> int:
    """LEADSCORE_SENSOR_INTERVAL_SECONDS (default 300): the minimum time between evaluations."""
    return env_int(INTERVAL_ENV, DEFAULT_INTERVAL_SECONDS, minimum=1)


def landing_files(landing_dir: Path) -> list[tuple[str, int, int]]:
    """(relative path, size, mtime in ns) of every visible file under the landing folder."""
    if not landing_dir.is_dir():
        return []
    files = []
    for path in landing_dir.rglob("*"):
        relative = path.relative_to(landing_dir)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        stat = path.stat()
        files.append((relative.as_posix(), stat.st_size, stat.st_mtime_ns))
    return sorted(files)


def landing_fingerprint(files: Sequence[tuple[str, int, int]]) -> str:
    """A short, stable digest of the listing; changes when a file appears, goes or changes."""
    digest = hashlib.sha256()
    for name, size, mtime_ns in files:
        digest.update(f"{name}\0{size}\0{mtime_ns}\n".encode())
    return digest.hexdigest()[:32]


def utc_today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


def build_landing_sensor(job: Any) -> SensorDefinition:
    """The sensor that starts `job` (the daily job, partitioned by score date) for today's
    UTC date on landing changes. `job` is what `define_asset_job` returns."""

    @sensor(
        name="landing_sensor",
        job=job,
        minimum_interval_seconds=sensor_interval_seconds(),
        default_status=DefaultSensorStatus.STOPPED,
        description="Runs the daily job for today's UTC score date when files in "
        "LEADSCORE_LANDING_DIR are new or changed (names, sizes, mtimes). Off by default; "
        f"evaluates at most every {INTERVAL_ENV} seconds (default {DEFAULT_INTERVAL_SECONDS}).",
    )
    def landing_sensor(
        context: SensorEvaluationContext, leadscore: LeadscoreResource
    ) -> RunRequest | SkipReason:
        landing_dir = Path(leadscore.landing_dir)
        files = landing_files(landing_dir)
        if not files:
            return SkipReason(f"no landing files in {landing_dir}")
        fingerprint = landing_fingerprint(files)
        if fingerprint == context.cursor:
            return SkipReason(f"no change in {landing_dir} ({len(files)} files)")
        # a run killed hard stays STARTED in the run history: it would be waited for ever
        reap_abandoned_runs(
            context.instance, leadscore.warehouse_path, Path(leadscore.audit_dir), context.log
        )
        active = context.instance.get_run_records(
            filters=RunsFilter(job_name=job.name, statuses=ACTIVE_RUN_STATUSES), limit=1
        )
        if active:
            return SkipReason(
                f"landing files changed, but run {active[0].dagster_run.run_id} of {job.name} "
                "is still queued or running; will look again after it"
            )
        holder = lock_holder(Path(leadscore.warehouse_path))
        if holder is not None:
            return SkipReason(
                f"landing files changed, but another run holds the warehouse ({holder}); "
                "will look again after it"
            )
        score_date = utc_today()
        # The previous fingerprint is in the key so that a folder going back to an
        # earlier state is still a change (run keys are never reused).
        run_key = f"landing:{score_date}:{context.cursor or 'none'}->{fingerprint}"
        context.update_cursor(fingerprint)
        return RunRequest(
            run_key=run_key,
            partition_key=score_date,
            tags={"leadscore/trigger": "landing_sensor"},
        )

    return landing_sensor
