"""The publish asset: the BI file, written only after every check passed."""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from orchestration.partitions import one_date_per_run, score_date_partitions
from orchestration.publish import BI_FILE_ASSET_PATH, PublishRefused, publish
from orchestration.resources import LeadscoreResource
from orchestration.transform import leadscore_dbt_assets

#: Depending on every dbt asset means a failed model, test or blocking check
#: anywhere upstream stops the run before this step.
DBT_KEYS = sorted(leadscore_dbt_assets.keys, key=lambda key: key.to_user_string())


@asset(
    key=AssetKey(list(BI_FILE_ASSET_PATH)),
    deps=DBT_KEYS,
    group_name="published",
    partitions_def=score_date_partitions,
    backfill_policy=one_date_per_run,
    description="The BI file at LEADSCORE_PUBLISH_PATH (every marts table), replaced "
    "atomically, plus Parquet copies in LEADSCORE_EXPORT_DIR.",
    kinds={"duckdb", "parquet"},
)
def published_bi_file(
    context: AssetExecutionContext, leadscore: LeadscoreResource
) -> MaterializeResult:
    try:
        result = publish(leadscore.settings, run_id=context.run.run_id)
    except PublishRefused as refused:
        raise Failure(description=f"publish refused: {refused}", allow_retries=False) from None
    context.log.info(f"published {len(result.row_counts)} tables to {result.path}")
    for warning in result.warnings:
        context.log.warning(f"publish: {warning}")
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(result.path)),
            "export_dir": MetadataValue.path(str(result.export_dir)),
            "score_date": result.score_date or "",
            "row_counts": MetadataValue.json(result.row_counts),
            # "all", or the score dates replaced in a history table
            "refreshed": MetadataValue.json(result.refreshed),
            # what went wrong around a publish that stands (an earlier date's
            # unfinished build, an old copy not removed): the CLI's summary
            # repeats them
            "warnings": MetadataValue.json(list(result.warnings)),
        }
    )
