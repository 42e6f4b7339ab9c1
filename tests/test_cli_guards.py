"""What `leadscore` does before any work when it cannot run: an environment
variable it cannot use, or another run holding the warehouse. Both exit 2 at
once with a message naming the cause, and leave nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from orchestration.settings import SettingsError, env_flag

LEADSCORE = Path(sys.executable).parent / "leadscore"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "LEADSCORE_LANDING_DIR": str(tmp_path / "landing"),
        "LEADSCORE_WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
        "LEADSCORE_PUBLISH_PATH": str(tmp_path / "published" / "published.duckdb"),
        "LEADSCORE_AUDIT_DIR": str(tmp_path / "audit"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "LEADSCORE_SCHEDULE_ENABLED": "0",
        **extra,
    }


def _leadscore(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`leadscore` by its full path, on the test's folders, never raising."""
    return subprocess.run(
        [str(LEADSCORE), *args],
        env=_env(tmp_path, **env),
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("LEADSCORE_PARTITIONS_START", "garbage", "expected a date YYYY-MM-DD"),
        ("LEADSCORE_DBT_THREADS", "two", "expected a whole number from 1"),
        ("LEADSCORE_DUCKDB_MEMORY_LIMIT", "lots", "expected a DuckDB size such as 2500MB"),
        ("LEADSCORE_SCHEDULE_HOUR", "25", "expected a whole number from 0 to 23"),
        ("LEADSCORE_SCHEDULE_TIMEZONE", "Mars/Base", "expected a time zone"),
        # read in the run's steps (batch checks, publish), checked before it starts
        ("LEADSCORE_MIN_VOLUME_RATIO", "abc", "expected a number from 0 to 1 "),
        ("LEADSCORE_MIN_VOLUME_RATIO", "-1", "expected a number from 0 to 1 "),
        ("LEADSCORE_MIN_REFERENTIAL_INTEGRITY", "1.5", "expected a number from 0 to 1 "),
        ("LEADSCORE_MIN_REFERENTIAL_INTEGRITY", "nan", "expected a number from 0 to 1 "),
        ("LEADSCORE_MAX_FUTURE_SKEW_MINUTES", "abc", "expected a number from 0 to 525600"),
        ("LEADSCORE_MAX_FUTURE_SKEW_MINUTES", "inf", "expected a number from 0 to 525600"),
        ("LEADSCORE_MAX_QUARANTINE_RATE", "25%", "expected a number from 0 to 1 "),
        ("LEADSCORE_MAX_QUARANTINE_RATE", "1.5", "expected a number from 0 to 1 "),
        ("LEADSCORE_QUARANTINE_MIN_CONTACTS", "-5", "expected a whole number from 0 "),
        ("LEADSCORE_GX_FULL_SCAN_EVERY_DAYS", "weekly", "expected a number of days from 0"),
        ("LEADSCORE_GX_FULL_SCAN_EVERY_DAYS", "-3", "expected a number of days from 0"),
        ("LEADSCORE_EMAIL_WORKERS", "many", "expected a whole number from 1"),
        ("LEADSCORE_EMAIL_WORKERS", "0", "expected a whole number from 1"),
        ("LEADSCORE_GX_FULL_SCAN", "maybe", "expected 1 or 0"),
        ("LEADSCORE_PUBLISH_FULL", "maybe", "expected 1 or 0"),
        ("LEADSCORE_PUBLISH_STORAGE_VERSION", "1.4", "expected a DuckDB version such as v1.4.0"),
        ("LEADSCORE_SCHEDULE_ENABLED", "maybe", "expected 1 or 0"),
        ("LEADSCORE_SENSOR_INTERVAL_SECONDS", "abc", "expected a whole number from 1"),
        ("LEADSCORE_DBT_TARGET", "duck_db", "expected one of duckdb, spark (the outputs of"),
    ],
)
def test_a_bad_environment_value_is_named_not_a_traceback(
    tmp_path: Path, variable: str, value: str, expected: str
):
    (tmp_path / "landing").mkdir()  # the schedule's variables are read when the job loads
    run = _leadscore(tmp_path, "run", "--date", "2026-03-01", **{variable: value})
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.startswith(f"leadscore: {variable}={value!r}: expected"), run.stderr
    assert expected in run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_a_warehouse_path_that_cannot_be_created_is_named_not_a_traceback(tmp_path: Path):
    (tmp_path / "landing").mkdir()
    (tmp_path / "afile").write_text("")
    warehouse = tmp_path / "afile" / "warehouse.duckdb"  # a file where a folder should be
    run = _leadscore(
        tmp_path, "run", "--date", "2026-03-01", LEADSCORE_WAREHOUSE_PATH=str(warehouse)
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.startswith(
        f"leadscore: LEADSCORE_WAREHOUSE_PATH={warehouse}: cannot create its lock file"
    ), run.stderr
    assert "Traceback" not in run.stderr + run.stdout


def test_a_publish_folder_that_cannot_be_written_stops_the_run_before_any_work(
    tmp_path: Path,
):
    """It failed in the publish step, after the whole build (found by the
    operations audit)."""
    (tmp_path / "landing").mkdir()
    (tmp_path / "afile").write_text("")
    published = tmp_path / "afile" / "published.duckdb"  # a file where a folder should be
    run = _leadscore(tmp_path, "run", "--date", "2026-03-01", LEADSCORE_PUBLISH_PATH=str(published))
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.startswith(
        f"leadscore: LEADSCORE_PUBLISH_PATH: the folder {published.parent} cannot be written"
    ), run.stderr
    assert "nothing was done" in run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_an_export_folder_that_is_a_mount_point_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A mount point (a container volume) cannot be renamed: every publish
    would fail after the whole build (found by the BI audit)."""
    from orchestration import resources
    from orchestration.settings import Settings, SettingsError

    export = tmp_path / "published" / "parquet"
    monkeypatch.setenv("LEADSCORE_PUBLISH_PATH", str(tmp_path / "published" / "published.duckdb"))
    monkeypatch.setenv("LEADSCORE_EXPORT_DIR", str(export))
    settings = Settings.from_env()
    resources.check_publish_writable(settings)  # a plain folder (or none yet) is fine
    monkeypatch.setattr(resources.os.path, "ismount", lambda path: Path(path) == export)
    with pytest.raises(SettingsError) as refused:
        resources.check_publish_writable(settings)
    assert str(refused.value).startswith(f"LEADSCORE_EXPORT_DIR: {export} is a mount point;")
    assert f"(e.g. {export / 'parquet'}); nothing was done" in str(refused.value)


def test_a_run_started_in_dagster_checks_the_same_settings_before_any_work(tmp_path: Path):
    """The UI, the schedule and the sensor do not go through `leadscore`: the run
    stops when it takes the warehouse, naming the variable, before any step."""
    (tmp_path / "landing").mkdir()
    script = (
        "from dagster import DagsterEventType\n"
        "from orchestration.definitions import DAILY_JOB_NAME, defs\n"
        "from orchestration.hooks import root_cause\n"
        "result = defs.resolve_job_def(DAILY_JOB_NAME).execute_in_process(\n"
        "    partition_key='2026-03-01', raise_on_error=False)\n"
        "print('success', result.success)\n"
        "for event in result.all_events:\n"
        "    if event.event_type == DagsterEventType.RESOURCE_INIT_FAILURE:\n"
        "        print(root_cause(event.event_specific_data.error))\n"
        "    if event.event_type == DagsterEventType.STEP_START:\n"
        "        print('started', event.step_key)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        env=_env(tmp_path, LEADSCORE_PUBLISH_FULL="maybe"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "success False" in run.stdout
    assert "LEADSCORE_PUBLISH_FULL='maybe': expected 1 or 0" in run.stdout, run.stdout
    assert "started" not in run.stdout
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_switches_read_one_to_zero_in_any_spelling():
    assert [env_flag("X", environ={"X": v}) for v in ("1", "true", "YES", " yes ")] == [True] * 4
    assert [env_flag("X", environ={"X": v}) for v in ("0", "false", "No")] == [False] * 3
    # unset or blank: the default (the schedule's default is on)
    assert env_flag("X", environ={}) is False
    assert env_flag("X", default=True, environ={"X": " "}) is True
    with pytest.raises(SettingsError, match=r"X='on': expected 1 or 0"):
        env_flag("X", environ={"X": "on"})


def test_a_second_run_stops_at_once_while_another_holds_the_warehouse(
    tmp_path: Path, lock_held_elsewhere
):
    (tmp_path / "landing").mkdir()  # the run could start: only the lock stops it
    lock = tmp_path / "warehouse.duckdb.lock"
    with lock_held_elsewhere(lock):
        started = time.monotonic()
        run = _leadscore(tmp_path, "backfill", "--start", "2026-02-27", "--end", "2026-03-01")
        assert run.returncode == 2, run.stdout + run.stderr
        assert (
            "another leadscore run or backfill (pid 4242, started earlier) is using" in run.stderr
        )
        assert str(tmp_path / "warehouse.duckdb") in run.stderr
        assert "nothing was done" in run.stderr
        assert time.monotonic() - started < 30  # no retrying on DuckDB's file lock
        assert not (tmp_path / "warehouse.duckdb").exists()

    # the lock went with its process: the next run is not refused
    released = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from orchestration.warehouse_lock import warehouse_lock\n"
            "from orchestration.settings import Settings\n"
            "with warehouse_lock(Settings.from_env().warehouse_path): print('got it')",
        ],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert released.stdout.strip() == "got it", released.stderr
    assert lock.read_text() == ""  # the holder's note is cleared on release


def test_a_run_stops_at_once_while_a_killed_runs_dbt_still_writes(tmp_path: Path):
    """kill -9 of `leadscore run` alone leaves its dbt build running without the
    lock (dbt is a subprocess): the next run stops naming it, not half-way on
    DuckDB's file lock."""
    from orchestration.warehouse_lock import dbt_pid_path, dbt_process_recorded, lock_holder

    (tmp_path / "landing").mkdir()  # the run could start: only the lock stops it
    warehouse = tmp_path / "warehouse.duckdb"
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "dbt"])
    try:
        with dbt_process_recorded(warehouse, orphan):
            pass  # the run was killed here: its dbt still runs, and stays recorded
        started = time.monotonic()
        run = _leadscore(tmp_path, "run", "--date", "2026-03-01")
        assert run.returncode == 2, run.stdout + run.stderr
        assert f"its dbt build (pid {orphan.pid}), which still writes {warehouse}" in run.stderr
        assert "nothing was done" in run.stderr and f"kill {orphan.pid}" in run.stderr
        assert time.monotonic() - started < 30
        assert lock_holder(warehouse) == (
            f"pid {orphan.pid}, the dbt build of a run that ended without it"
        )
    finally:
        orphan.kill()
        orphan.wait()
    # gone: forgotten, and the warehouse is free again
    assert lock_holder(warehouse) is None
    assert not dbt_pid_path(warehouse).exists()

    # A recorded pid another process holds now (pids are reused) is no holder,
    # even one whose command line says dbt (an editor open on dbt_project/): it
    # started at another time.
    other = subprocess.Popen(
        [sys.executable, "-c", "print('up', flush=True); import time; time.sleep(120)", "dbt"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout.readline().strip() == "up"
        earlier = psutil.Process(other.pid).create_time() - 60
        dbt_pid_path(warehouse).write_text(f"{other.pid} {earlier!r}\n")
        assert lock_holder(warehouse) is None
        assert not dbt_pid_path(warehouse).exists()
        # a record without a start time (an earlier version's): a dbt process holds
        dbt_pid_path(warehouse).write_text(f"{other.pid}\n")
        assert lock_holder(warehouse) == (
            f"pid {other.pid}, the dbt build of a run that ended without it"
        )
        # the record goes with dbt's exit, and stays while dbt still runs
        with dbt_process_recorded(warehouse, other):
            assert dbt_pid_path(warehouse).read_text().split()[0] == str(other.pid)
        assert dbt_pid_path(warehouse).exists()
    finally:
        other.kill()
        other.communicate()
    with dbt_process_recorded(warehouse, other):
        pass
    assert not dbt_pid_path(warehouse).exists()
    # a record without a start time of a process that is no dbt is forgotten
    sleeper = subprocess.Popen(["sleep", "120"])
    try:
        dbt_pid_path(warehouse).write_text(f"{sleeper.pid}\n")
        assert lock_holder(warehouse) is None
        assert not dbt_pid_path(warehouse).exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_run_stops_at_once_while_another_process_has_the_warehouse_open(tmp_path: Path):
    """A notebook's read-only connection to the warehouse: every step would fail on
    DuckDB's lock after its retries (about 40 s); the run stops at once instead."""
    import duckdb

    (tmp_path / "landing").mkdir()  # the run could start: only the lock stops it
    warehouse = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            f"con = duckdb.connect({str(warehouse)!r}, read_only=True)\n"
            "print('open', flush=True)\n"
            "time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "open"
        started = time.monotonic()
        run = _leadscore(tmp_path, "run", "--date", "2026-03-01")
        assert run.returncode == 2, run.stdout + run.stderr
        assert f"leadscore: {warehouse} is open in another process" in run.stderr
        assert f"(PID {reader.pid})" in run.stderr and "nothing was done" in run.stderr
        assert time.monotonic() - started < 30
    finally:
        reader.kill()
        reader.wait()


def test_demo_data_refuses_a_contact_count_below_one(tmp_path: Path):
    run = _leadscore(
        tmp_path, "demo-data", "--contacts", "0", "--landing", str(tmp_path / "landing")
    )
    assert run.returncode == 2
    assert "--contacts: '0' is not a whole number of 1 or more" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "landing").exists()


def test_demo_data_names_a_landing_path_it_cannot_write(tmp_path: Path):
    afile = tmp_path / "afile"
    afile.write_text("")
    run = _leadscore(tmp_path, "demo-data", "--landing", str(afile))
    assert run.returncode == 2, run.stdout + run.stderr
    assert (
        run.stderr
        == f"leadscore: --landing {afile}: is a file, not a folder; nothing was written\n"
    )
    below = afile / "landing"  # a file where a folder should be
    run = _leadscore(tmp_path, "demo-data", LEADSCORE_LANDING_DIR=str(below))
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.startswith(
        f"leadscore: LEADSCORE_LANDING_DIR={below}: cannot create the folder: "
    ), run.stderr
    assert "Traceback" not in run.stderr
    assert afile.read_text() == ""


@pytest.mark.parametrize(
    "command",
    [["run", "--date", "2026-03-01"], ["backfill", "--start", "2026-03-01", "--end", "2026-03-02"]],
)
def test_a_missing_landing_folder_is_one_message_naming_the_setting(
    tmp_path: Path, command: list[str]
):
    run = _leadscore(tmp_path, *command)
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr == (
        f"leadscore: landing folder {tmp_path / 'landing'} does not exist (LEADSCORE_LANDING_DIR); "
        "point it at the folder your exports land in, or write the sample there with "
        "`leadscore demo-data`; nothing was done\n"
    )
    # nothing written: no Dagster home, no warehouse folder or lock
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["run", "--date", "2999-01-01"], "score date 2999-01-01 is in the future"),
        (["run", "--date", "2001-01-01"], "score date 2001-01-01 is before the job's first"),
        (["backfill", "--start", "2026-03-02", "--end", "2026-03-01"], "--end is before --start"),
        (["backfill", "--start", "2001-01-01", "--end", "2026-03-01"], "--start 2001-01-01 is"),
    ],
)
def test_a_refused_run_leaves_no_trace(tmp_path: Path, command: list[str], message: str):
    (tmp_path / "landing").mkdir()
    run = _leadscore(
        tmp_path, *command, LEADSCORE_WAREHOUSE_PATH=str(tmp_path / "state" / "warehouse.duckdb")
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.startswith(f"leadscore: {message}"), run.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["landing"]


def test_a_landing_path_that_is_a_file_is_named_as_such(tmp_path: Path):
    (tmp_path / "landing").write_text("")
    run = _leadscore(tmp_path, "run", "--date", "2026-03-01")
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.startswith(
        f"leadscore: landing folder {tmp_path / 'landing'} is not a folder (LEADSCORE_LANDING_DIR)"
    ), run.stderr
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_a_run_started_in_dagster_takes_the_same_lock(
    tmp_path: Path, settings, lock_held_elsewhere
):
    """Runs launched from the UI, a schedule or a sensor do not pass through the
    CLI: the leadscore resource takes the lock when the run starts, and
    releases it when the run ends."""
    from dagster import DagsterEventType, asset, materialize

    from orchestration.hooks import root_cause
    from orchestration.resources import LeadscoreResource
    from orchestration.warehouse_lock import lock_path

    @asset(required_resource_keys={"leadscore"})
    def writes_the_warehouse(context) -> None:
        with context.resources.leadscore.warehouse() as con:
            con.execute("create or replace table written as select 1 as one")

    resources = {"leadscore": LeadscoreResource.from_settings(settings)}
    with lock_held_elsewhere(lock_path(settings.warehouse_path)):
        result = materialize([writes_the_warehouse], resources=resources, raise_on_error=False)
        assert not result.success
        messages = " ".join(
            root_cause(event.event_specific_data.error)
            for event in result.all_events
            if event.event_type == DagsterEventType.RUN_FAILURE
            or event.event_type == DagsterEventType.STEP_FAILURE
            if event.event_specific_data is not None
            and getattr(event.event_specific_data, "error", None) is not None
        )
        assert "another leadscore run or backfill (pid 4242, started earlier) is using" in messages
        assert not settings.warehouse_path.exists()

    # once free, the run takes it and gives it back when it ends
    assert materialize([writes_the_warehouse], resources=resources).success
    released = subprocess.run(
        [
            sys.executable,
            "-c",
            "from pathlib import Path; from orchestration.warehouse_lock import warehouse_lock\n"
            f"with warehouse_lock(Path({str(settings.warehouse_path)!r})): print('got it')",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert released.stdout.strip() == "got it", released.stderr


def test_a_run_waits_out_the_sensors_probe_of_the_lock(tmp_path: Path):
    """The landing sensor's `lock_holder` takes the lock for an instant: a run
    starting just then must not be refused as if another run held it."""
    from orchestration.warehouse_lock import BUSY_GRACE_SECONDS, lock_path, warehouse_lock

    warehouse = tmp_path / "warehouse.duckdb"
    lock = lock_path(warehouse)
    # Another process holds the lock for 0.3 s, as a (slow) probe would.
    probe = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, time\n"
            f"handle = open({str(lock)!r}, 'a+')\n"
            "fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
            "print('locked', flush=True)\n"
            "time.sleep(0.3)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert probe.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with warehouse_lock(warehouse):
            waited = time.monotonic() - started
        assert 0.1 <= waited < BUSY_GRACE_SECONDS
    finally:
        probe.wait()


def test_a_blank_dbt_target_is_the_default(monkeypatch: pytest.MonkeyPatch):
    """Blank reads as unset, as for every LEADSCORE_* variable (and dbt's profile agrees)."""
    from orchestration.settings import dbt_target

    monkeypatch.setenv("LEADSCORE_DBT_TARGET", " ")
    assert dbt_target() == "duckdb"
    monkeypatch.setenv("LEADSCORE_DBT_TARGET", "spark")
    assert dbt_target() == "spark"
