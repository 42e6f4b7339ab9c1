"""Run-failure alerts: a run-failure sensor that records every failed run of
the monitored jobs and, when LEADSCORE_ALERT_WEBHOOK_URL is set, posts a
short message to it (Slack-compatible `{"text": ...}`).

The record is one JSON line appended to `<LEADSCORE_AUDIT_DIR>/run_failures.jsonl`:
run_id, job, partition (the score date), failed_at (UTC), the run's failure
message, each failed step with its error (the innermost cause, as
`leadscore run` prints it) and whether the run had already replaced the BI
file (`published`: only a step after the publish, the run report, failed).
A webhook that cannot be reached or answers with an error is logged and
never fails the sensor: the record on disk is the source of truth. A record
that cannot be written fails the sensor tick visibly (Dagster then retries
the same failure on the next tick).
"""

import datetime as dt
import json
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DefaultSensorStatus,
    RunFailureSensorContext,
    SensorDefinition,
    run_failure_sensor,
)

from orchestration.publish import BI_FILE_ASSET_PATH
from orchestration.resources import LeadscoreResource

FAILURES_FILE = "run_failures.jsonl"
WEBHOOK_ENV = "LEADSCORE_ALERT_WEBHOOK_URL"
PARTITION_TAG = "dagster/partition"
WEBHOOK_TIMEOUT_SECONDS = 10
#: The alert is a chat message: a few steps, each error cut to one short line.
ALERT_MAX_STEPS = 5
ALERT_MAX_ERROR_CHARS = 300


#: What Dagster raises in a step whose blocking asset check failed; the
#: check's own evaluation says why.
BLOCKING_CHECK_ERROR = "DagsterAssetCheckFailedError"


def _innermost(error: object) -> object:
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error


def is_blocking_check_failure(error: object) -> bool:
    """True if a step failed only because a blocking asset check of it failed."""
    return getattr(_innermost(error), "cls_name", None) == BLOCKING_CHECK_ERROR


def root_cause(error: object) -> str:
    """The innermost error message (Dagster wraps the user's exception)."""
    if error is None:
        return "unknown error"
    error = _innermost(error)
    if getattr(error, "cls_name", None) == "DagsterExecutionInterruptedError":
        # its message is only the class's name
        return "interrupted: the run was stopped (SIGTERM or Ctrl-C) before the step ended"
    message = getattr(error, "message", str(error)).strip()
    for prefix in (
        "dagster._core.definitions.events.Failure: ",
        f"dagster._core.errors.{BLOCKING_CHECK_ERROR}: ",
    ):
        message = message.removeprefix(prefix)
    return message


def _already_recorded(path: Path, run_id: str) -> bool:
    if not path.exists():
        return False
    with path.open(encoding="utf-8") as handle:
        return any(json.loads(line).get("run_id") == run_id for line in handle if line.strip())


def _utc_iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds")


def run_failure_cause(event: object) -> str | None:
    """Why a run failed before or between steps (a run-level event: the run's
    resource could not start, e.g. the warehouse taken by another process or
    a bad setting): the innermost error of a RUN_FAILURE or
    RESOURCE_INIT_FAILURE event; None for other events or without an error."""
    if getattr(event, "event_type", None) not in (
        DagsterEventType.RUN_FAILURE,
        DagsterEventType.RESOURCE_INIT_FAILURE,
    ):
        return None
    error = getattr(getattr(event, "event_specific_data", None), "error", None)
    return None if error is None else root_cause(error)


def failure_record(instance: DagsterInstance, run: DagsterRun) -> dict[str, Any]:
    """What failed in a run, from the instance's event log (works for any failed run)."""
    failure_entries = instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_FAILURE)
    step_entries = instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_FAILURE)
    failed_steps = []
    for entry in step_entries:
        event = entry.dagster_event
        error = event.step_failure_data.error if event.step_failure_data else None
        failed_steps.append(
            {
                "step": event.step_key,
                "error": root_cause(error),
                "error_type": getattr(error, "cls_name", None),
                "failed_at": _utc_iso(entry.timestamp),
            }
        )
    published = any(
        entry.dagster_event.asset_key.path == list(BI_FILE_ASSET_PATH)
        for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
    )
    last_failure = failure_entries[-1] if failure_entries else None
    failed_at = last_failure.timestamp if last_failure else dt.datetime.now(dt.UTC).timestamp()
    return {
        "run_id": run.run_id,
        "job": run.job_name,
        "partition": run.tags.get(PARTITION_TAG),
        "failed_at": _utc_iso(failed_at),
        # Dagster's line names the failed steps; a run that failed outside
        # its steps (its resource did not start) gets the cause instead
        "message": (
            (
                (not failed_steps and run_failure_cause(last_failure.dagster_event))
                or last_failure.dagster_event.message
            )
            if last_failure
            else None
        ),
        "failed_steps": failed_steps,
        # the BI file was replaced before a later step failed
        "published": published,
    }


def append_failure_record(audit_dir: Path, record: dict[str, Any]) -> Path:
    """Append one JSON line to run_failures.jsonl (created with its folder if needed)."""
    audit_dir.mkdir(parents=True, exist_ok=True)
    path = audit_dir / FAILURES_FILE
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")
    return path


def alert_text(record: dict[str, Any]) -> str:
    """The chat message: which job and date failed, and why, in a few lines."""
    lines = [
        f"leadscore: run of {record['job']} for score date {record['partition'] or '(none)'} "
        f"FAILED at {record['failed_at']} (run {record['run_id']}); "
        + (
            "the tables were published, then a later step failed."
            if record.get("published")
            else "the published tables were left untouched."
        )
    ]
    steps = record["failed_steps"]
    for step in steps[:ALERT_MAX_STEPS]:
        error = " ".join(str(step["error"]).split())
        if len(error) > ALERT_MAX_ERROR_CHARS:
            error = error[: ALERT_MAX_ERROR_CHARS - 3] + "..."
        lines.append(f"- step {step['step']}: {error}")
    if len(steps) > ALERT_MAX_STEPS:
        lines.append(f"- and {len(steps) - ALERT_MAX_STEPS} more failed steps")
    if not steps and record["message"]:
        lines.append(f"- {record['message']}")
    return "\n".join(lines)


def post_alert(url: str, text: str, timeout: float = WEBHOOK_TIMEOUT_SECONDS) -> int:
    """POST `{"text": text}` as JSON; return the HTTP status. Raises on any failure."""
    if not url.lower().startswith(("https://", "http://")):
        raise ValueError(f"{WEBHOOK_ENV} must be an http(s) URL, got {url!r}")
    request = urllib.request.Request(
        url,
        data=json.dumps({"text": text}).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    # An HTTP error status raises urllib.error.HTTPError.
    with urllib.request.urlopen(request, timeout=timeout) as response:  # scheme checked above
        return int(response.status)


def record_run_failure(
    instance: DagsterInstance,
    run: DagsterRun,
    audit_dir: Path,
    webhook_url: str | None,
    log: Any,
) -> dict[str, Any]:
    """Write the failure record, then alert the webhook if one is configured.

    Runs started by `leadscore run` are recorded by the CLI itself and, when the
    daemon is up, seen again by the sensor: a run already recorded is skipped.
    """
    record = failure_record(instance, run)
    if _already_recorded(audit_dir / FAILURES_FILE, run.run_id):
        return record
    path = append_failure_record(audit_dir, record)
    log.info(f"run {run.run_id} of {run.job_name} failed; recorded in {path}")
    if webhook_url:
        try:
            status = post_alert(webhook_url, alert_text(record))
        except (OSError, ValueError) as error:  # URLError, HTTPError and timeouts are OSErrors
            log.warning(f"alert webhook {WEBHOOK_ENV} failed for run {run.run_id}: {error!r}")
        else:
            log.info(f"alert posted to {WEBHOOK_ENV} (HTTP {status})")
    return record


def build_failure_sensor(jobs: Sequence[Any]) -> SensorDefinition:
    """A run-failure sensor for `jobs` (running by default: it only records and alerts)."""

    @run_failure_sensor(
        name="run_failure_alerts",
        monitored_jobs=list(jobs),
        default_status=DefaultSensorStatus.RUNNING,
        description=f"Records each failed run in <LEADSCORE_AUDIT_DIR>/{FAILURES_FILE} and posts "
        f"a short message to {WEBHOOK_ENV} when it is set.",
    )
    def run_failure_alerts(context: RunFailureSensorContext, leadscore: LeadscoreResource) -> None:
        record_run_failure(
            context.instance,
            context.dagster_run,
            Path(leadscore.audit_dir),
            os.environ.get(WEBHOOK_ENV, "").strip() or None,
            context.log,
        )

    return run_failure_alerts
