"""A run disturbed after it started: Ctrl-C or SIGTERM while loading, a
transient error while loading, a run whose resource cannot start. Each runs
in a subprocess, so an interrupt never reaches pytest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli_guards import LEADSCORE, _env  # the same hermetic environment

from orchestration.settings import Settings

#: Replaces load_entity in the ingestion assets with one that raises `ERROR`
#: on its first call and loads normally afterwards.
PATCH = """
import duckdb
import orchestration.assets.ingestion as ingestion
from dagster._core.errors import DagsterExecutionInterruptedError
calls = []
real = ingestion.load_entity
def first_call_fails(*args, **kwargs):
    calls.append(args[2].name)
    if len(calls) == 1:
        raise ERROR
    return real(*args, **kwargs)
ingestion.load_entity = first_call_fails
real_sleep = ingestion.time.sleep  # the time module's: Dagster sleeps too
def sleep(seconds):
    if seconds >= 1:
        calls.append(f"slept {seconds:.0f}")
    else:
        real_sleep(seconds)
ingestion.time.sleep = sleep
from dagster import AssetKey, DagsterEventType, DagsterInstance
from orchestration.definitions import DAILY_JOB_NAME, defs
"""


def _python(tmp_path: Path, script: str, **env: str) -> str:
    run = subprocess.run(
        [sys.executable, "-c", script],
        env=_env(tmp_path, **env),
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


@pytest.fixture
def demo_landing(tmp_path: Path) -> Path:
    (tmp_path / "dagster_home").mkdir()
    made = subprocess.run(
        [str(LEADSCORE), "demo-data", "--contacts", "200"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    return tmp_path / "landing"


def test_an_interrupt_while_loading_stops_the_run_without_a_retry(
    tmp_path: Path, demo_landing: Path
):
    """Dagster retries a step that has a retry policy also when the run is
    interrupted: Ctrl-C or SIGTERM while loading restarted the step and the
    run went on to publish, exit 0 (found by the operations audit). The
    loading steps retry their transient errors themselves now."""
    script = PATCH.replace("ERROR", "DagsterExecutionInterruptedError()") + (
        "with DagsterInstance.get() as instance:\n"
        "    result = defs.resolve_job_def(DAILY_JOB_NAME).execute_in_process(\n"
        "        partition_key='2026-03-01', instance=instance, raise_on_error=False)\n"
        "kinds = {event.event_type_value for event in result.all_events}\n"
        "print('success', result.success)\n"
        "print('retried', 'STEP_UP_FOR_RETRY' in kinds or 'STEP_RESTARTED' in kinds)\n"
        "print('calls', calls)\n"
    )
    out = _python(tmp_path, script)
    assert "success False" in out, out
    assert "retried False" in out, out
    assert "calls ['crm_accounts']" in out, out
    assert not (tmp_path / "published" / "published.duckdb").exists()


def test_a_transient_error_while_loading_is_retried_in_the_step(tmp_path: Path, demo_landing: Path):
    script = PATCH.replace(
        "ERROR", "duckdb.IOException('IO Error: Could not read from file: a hiccup')"
    ) + (
        "with DagsterInstance.get() as instance:\n"
        "    result = defs.resolve_job_def(DAILY_JOB_NAME).execute_in_process(\n"
        "        partition_key='2026-03-01', instance=instance, raise_on_error=False,\n"
        "        asset_selection=[AssetKey(['raw', 'crm_accounts'])])\n"
        "    print('success', result.success)\n"
        "    print('calls', calls)\n"
        "    for entry in instance.all_logs(result.run_id):\n"
        "        if entry.dagster_event is None and 'retrying in' in entry.user_message:\n"
        "            print('logged', entry.level, entry.user_message)\n"
    )
    out = _python(tmp_path, script)
    assert "success True" in out, out
    assert "calls ['crm_accounts', 'slept 10', 'crm_accounts']" in out, out
    # a warning line, which `leadscore run`'s summary repeats
    assert (
        "logged 30 crm_accounts: IOException: IO Error: Could not read from file: a hiccup; "
        "retrying in 10 s"
    ) in out, out


def test_a_run_whose_resource_cannot_start_names_why(tmp_path: Path, demo_landing: Path):
    """The summary and the failure record name the cause (here a setting the
    CLI checks too, but a run can also lose the warehouse to another process
    between that check and its start), not "see `dagster dev` run history"."""
    script = (
        "import datetime as dt, json\n"
        "from orchestration.cli import run_score_date\n"
        "from orchestration.settings import Settings\n"
        "outcome = run_score_date(Settings.from_env(), dt.date(2026, 3, 1), quiet=True)\n"
        "print(json.dumps(outcome.failures))\n"
    )
    out = _python(tmp_path, script, LEADSCORE_PUBLISH_FULL="maybe")
    failures = json.loads(out.strip().splitlines()[-1])
    assert len(failures) == 1, failures
    assert "LEADSCORE_PUBLISH_FULL='maybe': expected 1 or 0" in failures[0]
    (record,) = [
        json.loads(line)
        for line in (tmp_path / "audit" / "run_failures.jsonl").read_text().splitlines()
    ]
    assert "LEADSCORE_PUBLISH_FULL='maybe': expected 1 or 0" in record["message"]


def test_a_process_opening_the_warehouse_between_steps_is_named(settings: Settings):
    """A notebook that opens the warehouse after the run's start check: the
    next step stops naming it, as the start check does, not with DuckDB's
    lock error."""
    import duckdb

    from orchestration.resources import LeadscoreResource
    from orchestration.warehouse_lock import WarehouseBusy

    warehouse = settings.warehouse_path
    duckdb.connect(str(warehouse)).close()
    resource = LeadscoreResource.from_settings(settings)
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, time\n"
            f"con = duckdb.connect({str(warehouse)!r}, read_only=True)\n"
            "print('open', flush=True)\n"
            "time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "open"
        with pytest.raises(WarehouseBusy) as busy, resource.warehouse():
            pass
    finally:
        reader.kill()
        reader.wait()
    message = str(busy.value)
    assert message.startswith(f"{warehouse} is open in another process, so this step cannot")
    assert f"(PID {reader.pid})" in message and "the run stopped at this step" in message
