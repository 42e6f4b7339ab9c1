"""dbt wiring: the project, the translator that places dbt nodes in the asset
graph (sources -> raw ingestion assets), and the partitioned dbt assets."""

import contextlib
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

import duckdb
from dagster import AssetCheckResult, AssetExecutionContext, AssetKey, Failure
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from packaging.version import Version

from orchestration.dbt_failures import describe_test_failure
from orchestration.dbt_runner import dbt_executable
from orchestration.partitions import one_date_per_run, score_date_partitions
from orchestration.resources import LeadscoreResource, connect
from orchestration.rulebook import check_seed_files
from orchestration.settings import DBT_PROJECT_DIR, SEEDS_DIR, dbt_target
from orchestration.warehouse_lock import dbt_process_recorded

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


class LeadscoreDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without two start-up costs it pays before every build.

    - dagster-dbt runs `dbt --version` once per resource instance, that is
      once per run: 1.6 s of dbt start-up. The dbt beside this interpreter is
      the dbt-core installed with it, whose version the package metadata
      gives; any other executable is still asked.
    - It loads dbt's profile, project and base macros into the Dagster process
      (1.5-1.8 s) for an adapter that serves only its optional row-count and
      column-metadata fetches (`fetch_row_counts`, `fetch_column_metadata`).
      This project uses neither (the publish step records each published
      table's row count), so no adapter is made.
    """

    @cached_property
    def _cli_version(self) -> Version:
        with contextlib.suppress(FileNotFoundError):
            if Path(self.dbt_executable).resolve() == dbt_executable().resolve():
                return Version(installed_version("dbt-core"))
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args: Any) -> Any:
        return None


def dbt_resource() -> DbtCliResource:
    return LeadscoreDbtCliResource(project_dir=dbt_project, dbt_executable=str(dbt_executable()))


class LeadscoreTranslator(DagsterDbtTranslator):
    """Keys models by layer (`staging/stg_crm__contacts`, `marts/lead_scores`) and
    groups them by folder; sources use the asset keys in their YAML meta."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        meta = dbt_resource_props.get("meta", {}).get("dagster", {})
        if "asset_key" in meta:
            return AssetKey(meta["asset_key"])
        resource_type = dbt_resource_props["resource_type"]
        if resource_type == "source":
            return AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        if resource_type == "seed":
            return AssetKey(["rulebook", dbt_resource_props["name"]])
        layer = dbt_resource_props["fqn"][1] if len(dbt_resource_props["fqn"]) > 2 else "dbt"
        return AssetKey([layer, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "rulebook"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


translator = LeadscoreTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


#: dagster-dbt gives every dbt invocation its own folder under dbt_project/target
#: (`<op>-<run id>-<suffix>`: compiled SQL, run_results.json, dbt.log; ~12 MB
#: here). The latest ones are kept for inspection; older ones are removed
#: before each build, so that a daily schedule does not fill the disk.
KEEP_RUN_TARGETS = 20


#: dbt's parse state, which dagster-dbt copies from dbt_project/target into each
#: build's folder so that dbt parses only what changed
PARTIAL_PARSE_FILE = "partial_parse.msgpack"


def keep_partial_parse(build_target: Path, project_target: Path) -> bool:
    """Make a build's parse state the next build's starting point; True if copied.

    dbt cannot use the parse state `leadscore prepare` left when the profile
    differs, e.g. a cron job with another LEADSCORE_WAREHOUSE_PATH or memory
    limit than the shell that prepared: it parses the whole project (~2.7 s
    more per run) and writes a new state into the build's folder, which no
    later build saw, so every run parsed in full. Copied back (atomically),
    only the first run after a change does. Housekeeping never fails a build.
    """
    built = build_target / PARTIAL_PARSE_FILE
    kept = project_target / PARTIAL_PARSE_FILE
    scratch = kept.with_name(f".{PARTIAL_PARSE_FILE}.{os.getpid()}.tmp")
    try:
        state = built.read_bytes()
        if kept.exists() and kept.read_bytes() == state:
            return False
        scratch.write_bytes(state)
        os.replace(scratch, kept)
    except OSError:
        with contextlib.suppress(OSError):
            scratch.unlink(missing_ok=True)
        return False
    return True


def prune_run_targets(target_dir: Path, prefix: str, keep: int = KEEP_RUN_TARGETS) -> list[Path]:
    """Remove all but the `keep` most recent `<prefix>-*` folders; return the removed ones.

    Housekeeping never fails a build: a folder that cannot be removed (in use,
    permissions) is left for the next run.
    """
    runs = []
    for path in target_dir.glob(f"{prefix}-*"):
        with contextlib.suppress(OSError):
            if path.is_dir():
                runs.append((path.stat().st_mtime, path))
    runs.sort(reverse=True)
    removed = []
    for _, old in runs[keep:]:
        try:
            shutil.rmtree(old)
        except OSError:
            continue
        removed.append(old)
    return removed


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Set environment variables for a subprocess started inside the block.

    `DbtCliResource.cli` copies `os.environ` when it starts dbt; the job runs
    its steps one at a time in one process (in-process executor), so nothing
    else reads the environment meanwhile.
    """
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def mark_build(leadscore: LeadscoreResource, score_date: str, ready: bool, run_id: str) -> None:
    """Record whether the marts hold a complete, fully tested build.

    Publishing reads this: a dbt build that failed half-way (a model built,
    a later test failed) must never be published, not even by a manual
    materialisation of the publish asset. A complete build also records the
    last load it has seen (`loaded_through`): the uniqueness test on the
    activity ids then looks only at rows loaded after it.
    """
    with leadscore.warehouse() as con:
        con.execute("create schema if not exists audit")
        con.execute(
            "create table if not exists audit.dbt_builds ("
            "run_id varchar, score_date date, is_complete boolean, recorded_at timestamp, "
            "loaded_through bigint)"
        )
        con.execute("alter table audit.dbt_builds add column if not exists loaded_through bigint")
        has_log = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'raw' and table_name = '_load_log'"
        ).fetchone()[0]
        loaded_through = (
            con.execute("select max(load_id) from raw._load_log").fetchone()[0]
            if ready and has_log
            else None
        )
        con.execute(
            "insert into audit.dbt_builds (run_id, score_date, is_complete, recorded_at, "
            "loaded_through) values (?, cast(? as date), ?, cast(now() as timestamp), ?)",
            [run_id, score_date, ready, loaded_through],
        )


def _metadata_value(value: Any) -> Any:
    return getattr(value, "value", value)


def _only_failed_checks(invocation: Any, failed_checks: list[AssetCheckResult]) -> Failure | None:
    """A one-line error for a build whose only failures are dbt tests already
    reported as failed checks, or None (dagster-dbt's error then stands, with
    dbt's messages). That error repeats each test's failure under the dbt
    command line and log path: the run's summary would name every failure
    twice."""
    if not failed_checks:
        return None
    try:
        results = invocation.get_artifact("run_results.json").get("results", [])
    except (OSError, ValueError):
        return None
    failed = {
        result["unique_id"]
        for result in results
        if result.get("status") not in ("success", "pass", "warn", "skipped")
    }
    reported = {_metadata_value(check.metadata.get("unique_id")) for check in failed_checks}
    if not failed or not failed <= reported:
        return None
    return Failure(
        description=(
            f"dbt build failed: {len(failed)} dbt test(s) failed, each named in its failed "
            f"check; dbt's log: {Path(invocation.target_path) / 'dbt.log'}"
        )
    )


def described_failures(
    checks: list[AssetCheckResult], invocation: Any, warehouse_path: Path
) -> Iterator[AssetCheckResult]:
    """The failed dbt tests' check results, each with the rows behind it.

    Called once dbt has exited: its process holds the warehouse while it
    runs, so the tests' queries run again here, read-only, a few rows each.
    On a target other than DuckDB the results go out as dbt reported them.
    """
    if not checks:
        return
    if dbt_target() != "duckdb":
        yield from checks
        return
    try:
        results = {
            result["unique_id"]: result
            for result in invocation.get_artifact("run_results.json").get("results", [])
        }
        con = connect(warehouse_path, read_only=True)
    except (OSError, ValueError, duckdb.Error) as exc:
        # dbt's own error (raised after these) is the one that matters; say
        # why the rows are missing rather than replace it with this one
        for check in checks:
            yield check._replace(
                description=f"failing rows could not be shown (run_results.json or the "
                f"warehouse unreadable: {exc})"
            )
        return
    try:
        for check in checks:
            unique_id = _metadata_value(check.metadata.get("unique_id"))
            failures = _metadata_value(check.metadata.get("dagster_dbt/failed_row_count"))
            result = results.get(unique_id) or {}
            if result.get("status") == "error":
                # the test's query itself failed (a compile or database error):
                # there are no failing rows to show, only dbt's message
                message = " ".join((result.get("message") or "no message").split())
                if len(message) > 300:
                    message = message[:297] + "..."
                yield check._replace(
                    description=f"the test errored, it did not run to the end: {message}"
                )
                continue
            compiled = result.get("compiled_code")
            if not compiled:
                yield check
                continue
            try:
                description = describe_test_failure(
                    con, invocation.manifest, unique_id, compiled, failures
                )
            except Exception as exc:
                # showing the rows is a courtesy: whatever goes wrong in it, the
                # check still fails, saying why its rows are missing, and dbt's
                # own error is raised after (never replaced by this one)
                count = f"{failures} failing row(s)" if failures is not None else "failing rows"
                description = f"{count}; running the test's query again to show them failed: {exc}"
            yield check._replace(description=description)
    finally:
        con.close()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    partitions_def=score_date_partitions,
    backfill_policy=one_date_per_run,
    # dbt unit tests pin formulas on fixed rows: they belong in CI (pytest runs
    # them), not in every daily run, where they would only cost time.
    exclude="test_type:unit",
)
def leadscore_dbt_assets(
    context: AssetExecutionContext, dbt: DbtCliResource, leadscore: LeadscoreResource
) -> Iterator[Any]:
    """`dbt build` for the run's score date: seeds, models and every dbt test."""
    score_date = context.partition_key
    # dagster-dbt names each invocation's folder `<op name>-<run id[:7]>-<suffix>`
    removed = prune_run_targets(
        Path(dbt_project.project_dir) / "target", context.op_execution_context.op.name
    )
    if removed:
        context.log.info(f"removed {len(removed)} old dbt run folder(s) from dbt_project/target")
    # a rulebook CSV dbt would load wrongly, or name only in its log (nothing
    # has changed yet: the last build's record stands)
    check_seed_files(SEEDS_DIR)
    mark_build(leadscore, score_date, ready=False, run_id=context.run.run_id)
    # The date goes through the environment, not `--vars`: vars are part of
    # dbt's parse state, so a new date each day would force a full re-parse.
    with _environment(LEADSCORE_SCORE_DATE=score_date):
        invocation = dbt.cli(["build"], context=context, raise_on_error=False)
    failed_checks = []
    # dbt does not share the run's lock: a run started while a dbt outlives its
    # killed parent stops and names it (warehouse_lock.py)
    with dbt_process_recorded(Path(leadscore.warehouse_path), invocation.process):
        for event in invocation.stream():
            if isinstance(event, AssetCheckResult) and not event.passed:
                failed_checks.append(event)
            else:
                yield event
        invocation.process.wait()
    yield from described_failures(failed_checks, invocation, Path(leadscore.warehouse_path))
    if keep_partial_parse(Path(invocation.target_path), Path(dbt_project.project_dir) / "target"):
        context.log.info("dbt's parse state from this build kept for the next one")
    error = invocation.get_error()
    if error is not None:
        raise _only_failed_checks(invocation, failed_checks) or error
    # Only a build of the whole project leaves the marts publishable. (The
    # step's `assets_def` holds only the selected keys: `is_subset` says
    # whether some of the definition's were left out.)
    full = not context.is_subset
    mark_build(leadscore, score_date, ready=full, run_id=context.run.run_id)
