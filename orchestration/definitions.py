"""The Dagster code location: `dagster dev -m orchestration.definitions`."""

from datetime import UTC

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    Definitions,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    in_process_executor,
    schedule,
)

from orchestration.assets.ingestion import ingestion_assets, landing_specs, reference_lists
from orchestration.assets.publishing import published_bi_file
from orchestration.hooks import build_failure_sensor
from orchestration.quality import quality_assets, quality_checks
from orchestration.report import run_report
from orchestration.resources import LeadscoreResource
from orchestration.sensors import build_landing_sensor
from orchestration.settings import Settings, env_flag, env_int, env_timezone
from orchestration.transform import dbt_resource, leadscore_dbt_assets

DAILY_JOB_NAME = "daily_leadscore"

daily_job = define_asset_job(
    DAILY_JOB_NAME,
    selection=AssetSelection.all() - AssetSelection.groups("landing"),
    description="Ingest landing files, audit, score with dbt and publish, for one score date.",
    # One writer per DuckDB file: steps run one at a time in one process.
    executor_def=in_process_executor,
)


@schedule(
    job=daily_job,
    cron_schedule=f"{env_int('LEADSCORE_SCHEDULE_MINUTE', 0, minimum=0, maximum=59)} "
    f"{env_int('LEADSCORE_SCHEDULE_HOUR', 6, minimum=0, maximum=23)} * * *",
    execution_timezone=env_timezone("LEADSCORE_SCHEDULE_TIMEZONE", "UTC"),
    default_status=DefaultScheduleStatus.RUNNING
    if env_flag("LEADSCORE_SCHEDULE_ENABLED", default=True)
    else DefaultScheduleStatus.STOPPED,
    description="Scores the current UTC date every day (same as `leadscore run`).",
)
def daily_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    score_date = context.scheduled_execution_time.astimezone(UTC).strftime("%Y-%m-%d")
    return RunRequest(run_key=score_date, partition_key=score_date)


defs = Definitions(
    assets=[
        *landing_specs,
        *ingestion_assets,
        reference_lists,
        *quality_assets,
        leadscore_dbt_assets,
        published_bi_file,
        run_report,
    ],
    asset_checks=quality_checks,
    jobs=[daily_job],
    schedules=[daily_schedule],
    sensors=[build_landing_sensor(daily_job), build_failure_sensor([daily_job])],
    resources={
        "leadscore": LeadscoreResource.from_settings(Settings.from_env()),
        "dbt": dbt_resource(),
    },
    executor=in_process_executor,
)
