"""The landing sensor (cursor logic) and the run-failure sensor (failure record
and webhook alert), evaluated against a real, temporary Dagster instance."""

import datetime as dt
import json
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    DefaultSensorStatus,
    Definitions,
    Failure,
    asset,
    build_run_status_sensor_context,
    build_sensor_context,
    define_asset_job,
    materialize,
)

from orchestration.abandoned_runs import (
    PID_NAMESPACE_TAG,
    PROCESS_TAG,
    TAGGED_BY_TAG,
    WAREHOUSE_TAG,
    pid_namespace,
    reap_abandoned_runs,
)
from orchestration.hooks import (
    FAILURES_FILE,
    WEBHOOK_ENV,
    alert_text,
    build_failure_sensor,
    record_run_failure,
)
from orchestration.partitions import score_date_partitions
from orchestration.resources import LeadscoreResource
from orchestration.sensors import INTERVAL_ENV, build_landing_sensor, landing_files
from orchestration.settings import Settings

D = "2026-06-30"


@asset(partitions_def=score_date_partitions)
def scored() -> None:
    """Stands in for the daily job's assets."""


@asset(partitions_def=score_date_partitions)
def failing_dbt_build() -> None:
    raise Failure(description="dbt build failed: model marts.lead_scores: division by zero")


daily_job = define_asset_job("daily_leadscore", selection=[scored])


@pytest.fixture
def instance(settings: Settings) -> Iterator[DagsterInstance]:
    with DagsterInstance.ephemeral() as instance:
        yield instance


@pytest.fixture
def resource(settings: Settings) -> LeadscoreResource:
    return LeadscoreResource.from_settings(settings)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- landing sensor ---------------------------------------------------------------------


def tick(instance: DagsterInstance, resource: LeadscoreResource, cursor: str | None):
    sensor = build_landing_sensor(daily_job)
    definitions = Definitions(
        assets=[scored], jobs=[daily_job], sensors=[sensor], resources={"leadscore": resource}
    )
    # a context manager: the resource has a teardown (the run lock), as Dagster's
    # own sensor evaluation does
    with build_sensor_context(
        instance=instance, cursor=cursor, resources={"leadscore": resource}, definitions=definitions
    ) as context:
        return sensor.evaluate_tick(context)


def test_landing_sensor_requests_a_run_only_when_files_change(
    settings: Settings, instance: DagsterInstance, resource: LeadscoreResource
):
    empty = tick(instance, resource, None)
    assert not empty.run_requests and "no landing files" in empty.skip_message

    contacts = write(settings.landing_dir / "crm" / "contacts.csv", "contact_id,email,created_at\n")
    first = tick(instance, resource, None)
    (request,) = first.run_requests
    assert request.partition_key == dt.datetime.now(dt.UTC).date().isoformat()
    assert request.tags["leadscore/trigger"] == "landing_sensor"
    assert first.cursor

    unchanged = tick(instance, resource, first.cursor)
    assert not unchanged.run_requests and "no change" in unchanged.skip_message
    assert unchanged.cursor in (None, first.cursor)

    # Hidden files (the demo-data marker, uploads in progress) are not landing files.
    write(settings.landing_dir / ".leadscore-demo-data", "marker")
    write(settings.landing_dir / "crm" / ".accounts.csv.tmp", "partial")
    assert not tick(instance, resource, first.cursor).run_requests

    # A new file is a change; so is a rewrite of an existing one (size or mtime).
    write(settings.landing_dir / "marketing" / "activities_2.csv", "activity_id\n")
    added = tick(instance, resource, first.cursor)
    assert len(added.run_requests) == 1 and added.cursor != first.cursor

    stat = contacts.stat()
    os.utime(contacts, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    touched = tick(instance, resource, added.cursor)
    assert len(touched.run_requests) == 1 and touched.cursor != added.cursor
    assert touched.run_requests[0].run_key != added.run_requests[0].run_key

    assert [name for name, _, _ in landing_files(settings.landing_dir)] == [
        "crm/contacts.csv",
        "marketing/activities_2.csv",
    ]


def test_landing_sensor_waits_while_another_run_holds_the_warehouse(
    settings: Settings, instance: DagsterInstance, resource: LeadscoreResource, lock_held_elsewhere
):
    # A `leadscore run` from cron or a shell holds the lock and is no Dagster run
    # the instance lists: the tick skips (no run to be refused and alerted as a
    # failure) and keeps its cursor; the evaluation itself never holds the lock.
    from orchestration.warehouse_lock import lock_path

    write(settings.landing_dir / "crm" / "contacts.csv", "contact_id,email,created_at\n")
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_held_elsewhere(lock_path(settings.warehouse_path)):
        waiting = tick(instance, resource, "old-cursor")
        assert not waiting.run_requests
        assert "another run holds the warehouse (pid " in waiting.skip_message
        assert waiting.cursor in (None, "old-cursor")
    assert len(tick(instance, resource, "old-cursor").run_requests) == 1


def test_landing_sensor_waits_while_the_job_is_running(
    settings: Settings, instance: DagsterInstance, resource: LeadscoreResource
):
    write(settings.landing_dir / "crm" / "contacts.csv", "contact_id,email,created_at\n")
    running = DagsterRun(
        job_name="daily_leadscore", run_id="run-in-progress", status=DagsterRunStatus.STARTED
    )
    instance.add_run(running)

    waiting = tick(instance, resource, "old-cursor")
    assert not waiting.run_requests
    assert "run-in-progress" in waiting.skip_message
    assert waiting.cursor in (None, "old-cursor")  # the change is picked up after the run

    instance.report_run_failed(running)  # the run is over
    assert len(tick(instance, resource, "old-cursor").run_requests) == 1


def ended_process() -> str:
    """host:pid of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"{socket.gethostname()}:{child.pid}"


def left_running(
    instance: DagsterInstance,
    run_id: str,
    warehouse: Path,
    process: str,
    *,
    status: DagsterRunStatus = DagsterRunStatus.STARTED,
    **tags: str,
) -> None:
    """A run of the daily job still running in the run history, tagged as a run
    holding `warehouse`'s lock does it (`tags` override those tags)."""
    instance.add_run(
        DagsterRun(
            job_name="daily_leadscore",
            run_id=run_id,
            status=status,
            tags={
                WAREHOUSE_TAG: str(warehouse.resolve()),
                PROCESS_TAG: process,
                TAGGED_BY_TAG: run_id,
                PID_NAMESPACE_TAG: pid_namespace(),
                **tags,
            },
        )
    )


def test_a_run_whose_process_was_killed_is_marked_failed_and_not_waited_for(
    settings: Settings, instance: DagsterInstance, resource: LeadscoreResource
):
    # kill -9 of `leadscore run` leaves its run STARTED: the sensor waited for it for ever
    write(settings.landing_dir / "crm" / "contacts.csv", "contact_id,email,created_at\n")
    left_running(instance, "killed-run", settings.warehouse_path, ended_process())
    # a live process (this one) is a run in progress, whatever the lock says
    left_running(
        instance, "live-run", settings.warehouse_path, f"{socket.gethostname()}:{os.getpid()}"
    )

    waiting = tick(instance, resource, "old-cursor")
    assert not waiting.run_requests and "live-run" in waiting.skip_message
    killed = instance.get_run_by_id("killed-run")
    assert killed.status == DagsterRunStatus.FAILURE
    assert instance.get_run_by_id("live-run").status == DagsterRunStatus.STARTED
    (record,) = records(settings)
    assert record["run_id"] == "killed-run"
    assert "ended without finishing it" in record["message"]

    instance.report_run_failed(instance.get_run_by_id("live-run"))
    assert len(tick(instance, resource, "old-cursor").run_requests) == 1


@asset
def holds_the_warehouse(leadscore: LeadscoreResource) -> None:
    """A run that uses the resource, so it takes the warehouse's lock."""


def test_a_run_is_reaped_only_where_its_own_process_tagged_it_and_has_ended(
    settings: Settings, instance: DagsterInstance, resource: LeadscoreResource
):
    """Dagster copies a run's tags to its re-execution and to an automatic retry:
    until the new run's process tags it, it names its parent's ended process. A
    pid from another pid namespace (a container sharing the host name, another
    boot) says nothing about this machine's processes."""
    gone = ended_process()
    left_running(instance, "killed-run", settings.warehouse_path, gone)
    left_running(
        instance,
        "re-execution",
        settings.warehouse_path,
        gone,
        **{TAGGED_BY_TAG: "killed-run"},
    )
    left_running(
        instance,
        "starting",
        settings.warehouse_path,
        gone,
        status=DagsterRunStatus.STARTING,
    )
    left_running(
        instance,
        "in-a-container",
        settings.warehouse_path,
        gone,
        **{PID_NAMESPACE_TAG: "another-boot:4026531836"},
    )
    reaped = reap_abandoned_runs(
        instance, settings.warehouse_path, settings.audit_dir, logging.getLogger("test")
    )
    assert reaped == ["killed-run"]
    for run_id in ("re-execution", "in-a-container"):
        assert instance.get_run_by_id(run_id).status == DagsterRunStatus.STARTED
    assert instance.get_run_by_id("starting").status == DagsterRunStatus.STARTING
    assert [r["run_id"] for r in records(settings)] == ["killed-run"]


def test_the_next_run_marks_a_killed_run_of_its_warehouse_failed(
    settings: Settings, instance: DagsterInstance, resource: LeadscoreResource, tmp_path: Path
):
    left_running(instance, "killed-run", settings.warehouse_path, ended_process())
    # another warehouse's run is another lock's business
    left_running(instance, "elsewhere", tmp_path / "other.duckdb", ended_process())
    result = materialize(
        [holds_the_warehouse], instance=instance, resources={"leadscore": resource}
    )
    assert result.success
    assert instance.get_run_by_id("killed-run").status == DagsterRunStatus.FAILURE
    assert instance.get_run_by_id("elsewhere").status == DagsterRunStatus.STARTED
    run = instance.get_run_by_id(result.run_id)
    assert run.tags[WAREHOUSE_TAG] == str(settings.warehouse_path.resolve())
    assert run.tags[PROCESS_TAG] == f"{socket.gethostname()}:{os.getpid()}"
    assert run.tags[TAGGED_BY_TAG] == result.run_id
    assert run.tags[PID_NAMESPACE_TAG] == pid_namespace() != "unknown"
    assert [r["run_id"] for r in records(settings)] == ["killed-run"]


def test_the_cli_summary_names_a_killed_run_it_marked_failed(settings: Settings):
    """The warning is a line of the new run's log, which --quiet keeps off the
    terminal: the summary repeats it (found by the operations audit)."""
    with DagsterInstance.get() as instance:  # DAGSTER_HOME, as `leadscore run` uses
        left_running(instance, "killed-run", settings.warehouse_path, ended_process())
    settings.landing_dir.mkdir(parents=True)  # empty: the run fails at loading
    # In a subprocess: orchestration.definitions, imported by the run, keeps
    # the paths of the environment it was first imported in.
    script = (
        "import datetime as dt, json\n"
        "from orchestration.cli import run_score_date\n"
        "from orchestration.settings import Settings\n"
        "outcome = run_score_date(Settings.from_env(), dt.date(2026, 3, 1), quiet=True)\n"
        "print(json.dumps([outcome.success, outcome.warnings]))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr
    success, warnings = json.loads(run.stdout.strip().splitlines()[-1])
    assert not success
    (warning,) = [w for w in warnings if "killed-run" in w]
    assert warning.startswith("run killed-run of daily_leadscore was left unfinished")
    assert warning.endswith("which is gone; marked failed")


def test_landing_sensor_is_off_by_default_and_its_interval_comes_from_env(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.delenv(INTERVAL_ENV, raising=False)
    sensor = build_landing_sensor(daily_job)
    assert sensor.default_status == DefaultSensorStatus.STOPPED
    assert sensor.minimum_interval_seconds == 300
    assert sensor.job_name == "daily_leadscore"
    monkeypatch.setenv(INTERVAL_ENV, "45")
    assert build_landing_sensor(daily_job).minimum_interval_seconds == 45
    monkeypatch.setenv(INTERVAL_ENV, "often")
    with pytest.raises(ValueError, match=INTERVAL_ENV):
        build_landing_sensor(daily_job)


# -- failure sensor ---------------------------------------------------------------------


class Webhook:
    """A local HTTP endpoint that records what was posted and answers `status`."""

    def __init__(self, status: int = 200) -> None:
        self.bodies: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                outer.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Log:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def info(self, message: str) -> None:
        self.lines.append(("info", message))

    def warning(self, message: str) -> None:
        self.lines.append(("warning", message))


def failed_run(instance: DagsterInstance) -> DagsterRun:
    result = materialize(
        [failing_dbt_build], instance=instance, partition_key=D, raise_on_error=False
    )
    assert not result.success
    return instance.get_run_by_id(result.run_id)


def records(settings: Settings) -> list[dict]:
    path = settings.audit_dir / FAILURES_FILE
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_failure_record_names_run_partition_steps_and_errors(
    settings: Settings, instance: DagsterInstance
):
    run = failed_run(instance)
    record = record_run_failure(instance, run, settings.audit_dir, None, Log())
    (written,) = records(settings)
    assert written == record
    assert written["run_id"] == run.run_id
    assert written["job"] == run.job_name
    assert written["partition"] == D
    assert "failing_dbt_build" in written["message"]
    (step,) = written["failed_steps"]
    assert step["step"] == "failing_dbt_build"
    assert step["error"] == "dbt build failed: model marts.lead_scores: division by zero"
    assert dt.datetime.fromisoformat(written["failed_at"]).tzinfo is not None
    assert written["published"] is False  # the build failed before the publish
    assert "the published tables were left untouched." in alert_text(written)

    # A second failure is appended, never overwriting the first.
    record_run_failure(instance, failed_run(instance), settings.audit_dir, None, Log())
    assert len(records(settings)) == 2


def test_failure_sensor_posts_a_short_slack_message(
    settings: Settings,
    instance: DagsterInstance,
    resource: LeadscoreResource,
    monkeypatch: pytest.MonkeyPatch,
):
    hook = Webhook()
    try:
        monkeypatch.setenv(WEBHOOK_ENV, hook.url)
        run = failed_run(instance)
        (failure,) = [
            entry.dagster_event
            for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_FAILURE)
        ]
        sensor = build_failure_sensor([daily_job])
        assert sensor.default_status == DefaultSensorStatus.RUNNING
        with build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=run,
            resources={"leadscore": resource},
        ) as status_context:
            sensor(status_context.for_run_failure())
    finally:
        hook.close()
    (body,) = hook.bodies
    assert set(body) == {"text"}
    assert f"for score date {D} FAILED" in body["text"]
    assert "- step failing_dbt_build: dbt build failed: model marts.lead_scores" in body["text"]
    assert records(settings)[0]["run_id"] == run.run_id


@pytest.mark.parametrize("answer", ["refused", "http_500", "bad_scheme"])
def test_a_failed_alert_is_logged_and_never_crashes(
    settings: Settings, instance: DagsterInstance, answer: str
):
    hook = None
    if answer == "refused":
        with socket.socket() as sock:  # a port nobody listens on
            sock.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    elif answer == "http_500":
        hook = Webhook(status=500)
        url = hook.url
    else:
        url = "file:///etc/passwd"
    log = Log()
    try:
        record_run_failure(instance, failed_run(instance), settings.audit_dir, url, log)
    finally:
        if hook:
            hook.close()
    assert len(records(settings)) == 1  # the record is written whatever the webhook does
    (warning,) = [message for level, message in log.lines if level == "warning"]
    assert WEBHOOK_ENV in warning
    expected = {"refused": "Connection refused", "http_500": "500", "bad_scheme": "http(s) URL"}
    assert expected[answer] in warning


def test_alert_text_is_short_even_for_long_errors():
    record = {
        "run_id": "abc",
        "job": "daily_leadscore",
        "partition": D,
        "failed_at": "2026-06-30T06:01:02+00:00",
        "message": "run failed",
        "failed_steps": [{"step": f"s{i}", "error": "x" * 1000} for i in range(7)],
    }
    lines = alert_text(record).splitlines()
    assert len(lines) == 1 + 5 + 1
    assert lines[-1] == "- and 2 more failed steps"
    assert all(len(line) < 320 for line in lines[1:6])
    assert lines[0].endswith("the published tables were left untouched.")
    published = alert_text({**record, "published": True}).splitlines()[0]
    assert published.endswith("the tables were published, then a later step failed.")


def test_an_interrupted_step_is_named_as_such():
    """SIGTERM to a run: Dagster's error for the step is only its class name."""
    from dagster._utils.error import SerializableErrorInfo

    from orchestration.hooks import root_cause

    interrupted = SerializableErrorInfo(
        message="dagster._core.errors.DagsterExecutionInterruptedError\n",
        stack=[],
        cls_name="DagsterExecutionInterruptedError",
    )
    assert root_cause(interrupted) == (
        "interrupted: the run was stopped (SIGTERM or Ctrl-C) before the step ended"
    )
    wrapped = SerializableErrorInfo(message="outer", stack=[], cls_name="X", cause=interrupted)
    assert root_cause(wrapped).startswith("interrupted: ")
    failure = SerializableErrorInfo(
        message="dagster._core.definitions.events.Failure: dbt build failed",
        stack=[],
        cls_name="Failure",
    )
    assert root_cause(failure) == "dbt build failed"
