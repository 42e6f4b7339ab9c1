"""Ingestion assets: one per landing entity, landing file -> raw table."""

import time
from collections.abc import Iterator

import duckdb
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)

from orchestration.ingest import ENTITIES, Entity, LoadFailed, load_entity, preview_markdown
from orchestration.partitions import one_date_per_run, score_date_partitions
from orchestration.reference import REFERENCE_TABLES, load_reference_lists
from orchestration.resources import LeadscoreResource
from orchestration.warehouse_lock import WarehouseBusy

#: Transient errors get retried inside the step, after these waits (seconds):
#: a file system error (a landing file replaced while it was read) or a
#: DuckDB I/O error (the warehouse opened by another process for a moment).
#: Not Dagster's RetryPolicy: Dagster retries a step with a policy also when
#: the run is interrupted, so Ctrl-C or SIGTERM during loading restarted the
#: step and the run went on to publish. A rejected file (Failure) or any
#: other error fails the step at once.
INGEST_RETRY_WAITS = (10.0, 20.0)
#: in the warning of each retry; `leadscore run`'s summary repeats those lines
RETRY_WARNING = "retrying in"
TRANSIENT_ERRORS = (OSError, duckdb.IOException, WarehouseBusy)

landing_specs = [
    AssetSpec(
        key=AssetKey(["landing", entity.name]),
        description=f"Landing files `{entity.pattern}` in LEADSCORE_LANDING_DIR "
        f"(csv, parquet or jsonl; key {entity.key}).",
        group_name="landing",
    )
    for entity in ENTITIES.values()
]


def _ingestion_asset(entity: Entity) -> AssetsDefinition:
    @asset(
        key=AssetKey(["raw", entity.name]),
        deps=[AssetKey(["landing", entity.name])],
        group_name="raw",
        partitions_def=score_date_partitions,
        backfill_policy=one_date_per_run,
        description=f"`raw.{entity.name}`: every `{entity.pattern}` landing file upserted by "
        f"`{entity.key}` (latest updated_at, else later file, wins). Unchanged files are skipped.",
        kinds={"duckdb"},
    )
    def _load(context: AssetExecutionContext, leadscore: LeadscoreResource) -> MaterializeResult:
        for wait in INGEST_RETRY_WAITS:
            try:
                return _load_once(context, leadscore)
            except TRANSIENT_ERRORS as error:
                context.log.warning(
                    f"{entity.name}: {type(error).__name__}: {error}; {RETRY_WARNING} {wait:.0f} s"
                )
                time.sleep(wait)
        return _load_once(context, leadscore)

    def _load_once(
        context: AssetExecutionContext, leadscore: LeadscoreResource
    ) -> MaterializeResult:
        with leadscore.warehouse() as con:
            try:
                result = load_entity(
                    con, leadscore.settings.landing_dir, entity, log=context.log.info
                )
            except LoadFailed as failed:
                raise Failure(
                    description=str(failed),
                    metadata={
                        "rejected_files": MetadataValue.json(
                            [
                                {
                                    "file": e.file,
                                    "row": e.row,
                                    "column": e.column,
                                    "message": e.message,
                                }
                                for e in failed.errors
                            ]
                        )
                    },
                    allow_retries=False,
                ) from None
            preview = preview_markdown(con, entity.table)
        context.log.info(
            f"{entity.name}: {len(result.files_loaded)} file(s) loaded, "
            f"{len(result.files_skipped)} unchanged, {result.rows_upserted} rows upserted, "
            f"{result.table_rows} rows in raw.{entity.name}"
        )
        return MaterializeResult(
            metadata={
                "dagster/row_count": result.table_rows,
                "rows_upserted": result.rows_upserted,
                "rows_in_files": result.rows_in_files,
                "rows_kept_newer": result.rows_kept_newer,
                "rows_kept_unchanged": result.rows_kept_unchanged,
                "files_loaded": MetadataValue.json(result.files_loaded),
                "files_unchanged": MetadataValue.json(result.files_skipped),
                "preview": MetadataValue.md(preview),
            }
        )

    return _load


ingestion_assets = [_ingestion_asset(entity) for entity in ENTITIES.values()]


@multi_asset(
    specs=[
        AssetSpec(
            key=AssetKey(["reference", table]),
            description=f"reference.{table}: loaded from the maintained package {package}.",
            group_name="reference",
            kinds={"duckdb"},
        )
        for table, package in REFERENCE_TABLES.items()
    ],
    partitions_def=score_date_partitions,
    backfill_policy=one_date_per_run,
)
def reference_lists(leadscore: LeadscoreResource) -> Iterator[MaterializeResult]:
    """Free-webmail and disposable domains, ISO 3166-1 country codes, as data
    (never typed by hand)."""
    with leadscore.warehouse() as con:
        counts = load_reference_lists(con)
    for table, count in counts.items():
        yield MaterializeResult(
            asset_key=AssetKey(["reference", table]), metadata={"dagster/row_count": count}
        )
