"""`leadscore`: the user's entry point (SPEC section 7).

    leadscore run [--date YYYY-MM-DD]        the daily job for a score date (default today, UTC)
    leadscore backfill --start D1 --end D2   rescore a range, in date order
    leadscore demo-data [--contacts N] ...   write the sample landing files
    leadscore prepare                        prepare the dbt manifest (dbt parse)

Every command is idempotent and exits non-zero, naming what failed, when a
step or a blocking check fails. Works when called by its full path with no
virtualenv activated (cron, CI): dbt is found beside this interpreter.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.settings import (
    DBT_PROJECT_DIR,
    SEEDS_DIR,
    Settings,
    SettingsError,
    check_run_settings,
)
from orchestration.warehouse_lock import WarehouseBusy, warehouse_lock

DEMO_MARKER = ".leadscore-demo-data"


def _utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in YYYY-MM-DD form") from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return value


#: The dagster.yaml of a DAGSTER_HOME leadscore creates: no telemetry, and the
#: event log keeps an engine per database file (orchestration/event_log.py).
DAGSTER_YAML = """\
telemetry:
  enabled: false
event_log_storage:
  module: orchestration.event_log
  class: PooledSqliteEventLogStorage
"""
#: The dagster.yaml earlier versions wrote; replaced by DAGSTER_YAML (same files).
_EARLIER_DAGSTER_YAML = "telemetry:\n  enabled: false\n"


def _prepare_environment(settings: Settings) -> None:
    """Make every path absolute in the environment dbt and Dagster will see."""
    os.environ.update(settings.export_env())
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    config = settings.dagster_home / "dagster.yaml"
    # A dagster.yaml of the user's own is never touched.
    if not config.exists() or config.read_text() == _EARLIER_DAGSTER_YAML:
        config.write_text(DAGSTER_YAML)


def prepare_manifest(quiet: bool = False) -> None:
    """`dbt parse`: writes dbt_project/target/manifest.json, which Dagster loads."""
    from orchestration.dbt_runner import DbtCommandFailed, dbt_command

    try:
        dbt_command(None, "parse", *(["--quiet"] if quiet else []))
    except DbtCommandFailed as failed:
        raise SystemExit(f"leadscore: {failed}") from None


#: dbt_project folders that hold dbt's output, not its sources
_DBT_OUTPUT_DIRS = frozenset({"target", "logs", "dbt_packages"})


def _source_paths(root: Path, skip_top: frozenset[str] = frozenset()) -> Iterator[Path]:
    """Every file and folder under root (root itself excluded), not descending
    into the top-level folders `skip_top`. A folder's mtime changes when a file
    in it is added, removed or renamed."""
    for folder, subfolders, files in os.walk(root):
        if Path(folder) == root:
            subfolders[:] = [d for d in subfolders if d not in skip_top]
        else:
            yield Path(folder)
        for name in files:
            yield Path(folder) / name


def _modified_after(path: Path, moment: float) -> bool:
    try:
        return path.stat().st_mtime > moment
    except OSError:  # gone since the walk, or a dangling link (an editor's lock file)
        return False


def manifest_is_stale() -> bool:
    """True when the manifest is missing or older than a dbt or rulebook file or folder.

    dbt's output folders are not walked: target/ keeps a folder per run.
    """
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = (*_source_paths(SEEDS_DIR), *_source_paths(DBT_PROJECT_DIR, _DBT_OUTPUT_DIRS))
    return any(_modified_after(p, built) for p in sources)


class _StderrLog:
    """The minimal logger interface record_run_failure needs, printing to stderr."""

    def info(self, message: str) -> None:
        print(f"leadscore: {message}", file=sys.stderr)

    warning = info


@dataclass
class RunOutcome:
    """What one daily run did, for the closing summary and the exit code."""

    score_date: str
    success: bool
    seconds: float
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rows_ingested: int = 0
    #: The BI file was replaced by this run (a later step may still have failed).
    published: bool = False


def run_score_date(settings: Settings, score_date: dt.date, quiet: bool = False) -> RunOutcome:
    """Run the daily Dagster job for one score date and collect what failed.

    `quiet` keeps dbt's log (which dagster-dbt echoes to stdout) and Dagster's
    own log lines off the terminal: the summary names every warning and failure
    once (a failed step by its root cause, not Dagster's tracebacks), and
    nothing is lost: dbt's log stays in its run folder and every event in
    Dagster's run history.
    """
    from dagster import AssetCheckSeverity, DagsterEventType, DagsterInstance

    from orchestration.abandoned_runs import ABANDONED_WARNING
    from orchestration.assets.ingestion import RETRY_WARNING
    from orchestration.definitions import DAILY_JOB_NAME, defs
    from orchestration.hooks import (
        WEBHOOK_ENV,
        is_blocking_check_failure,
        record_run_failure,
        root_cause,
        run_failure_cause,
    )
    from orchestration.ingest import ENTITIES, ignored_files
    from orchestration.publish import BI_FILE_ASSET_PATH

    started = time.monotonic()
    job = defs.resolve_job_def(DAILY_JOB_NAME)
    log_level = "CRITICAL" if quiet else "INFO"
    with contextlib.ExitStack() as stack:
        if quiet:
            stack.enter_context(
                contextlib.redirect_stdout(stack.enter_context(open(os.devnull, "w")))
            )
        instance = stack.enter_context(DagsterInstance.get())
        result = job.execute_in_process(
            partition_key=score_date.isoformat(),
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
            tags={"leadscore/trigger": "cli"},
        )
        # Warnings only the run's log holds (off the terminal with --quiet):
        # runs of this warehouse killed earlier and marked failed as this one
        # started, and loading steps retried after a transient error.
        logged_warnings = [
            entry.user_message
            for entry in instance.all_logs(result.run_id)
            if entry.dagster_event is None
            and entry.level >= logging.WARNING
            and any(
                mark in (entry.user_message or "") for mark in (ABANDONED_WARNING, RETRY_WARNING)
            )
        ]
        if not result.success:
            # The run-failure sensor needs the daemon; record CLI failures here too.
            record_run_failure(
                instance,
                instance.get_run_by_id(result.run_id),
                settings.audit_dir,
                os.environ.get(WEBHOOK_ENV, "").strip() or None,
                _StderrLog(),
            )
    outcome = RunOutcome(score_date.isoformat(), result.success, time.monotonic() - started)
    outcome.warnings.extend(logged_warnings)
    for name in ignored_files(settings.landing_dir):
        outcome.warnings.append(
            f"landing file {name} was not loaded: it matches none of "
            f"{', '.join(entity.pattern for entity in ENTITIES.values())} (SPEC section 2)"
        )
    # A step stopped by its blocking check: the check's own line says why.
    stopped_by_checks: list[str] = []
    # why the run failed outside its steps (its resource did not start)
    run_causes: list[str] = []
    checks_failed = False
    for event in result.all_events:
        cause = run_failure_cause(event)
        if cause is not None and cause not in run_causes:
            run_causes.append(cause)
        if event.event_type == DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
            failure = f"step {event.step_key} failed: {root_cause(error)}"
            if is_blocking_check_failure(error):
                stopped_by_checks.append(failure)
            else:
                outcome.failures.append(failure)
        elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            unexpected = evaluation.metadata.get("unexpected_count")
            if evaluation.passed and unexpected is not None and unexpected.value:
                # within its threshold (activities of unknown contacts under the
                # referential-integrity limit): the run goes on, and says so
                outcome.warnings.append(
                    f"check {name} passed within its threshold: {evaluation.description}"
                )
            elif not evaluation.passed:
                description = evaluation.description or "details in its metadata"
                if evaluation.severity == AssetCheckSeverity.ERROR:
                    outcome.failures.append(f"check {name} failed: {description}")
                    checks_failed = True
                else:
                    outcome.warnings.append(f"check {name} warns: {description}")
        elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            metadata = event.event_specific_data.materialization.metadata
            upserted = metadata.get("rows_upserted")
            if upserted is not None:
                outcome.rows_ingested += int(upserted.value)
            if event.asset_key.path == list(BI_FILE_ASSET_PATH):
                outcome.published = True
                warnings = metadata.get("warnings")
                outcome.warnings.extend(
                    f"publish: {warning}" for warning in (warnings.value if warnings else [])
                )
    if not checks_failed:
        outcome.failures.extend(stopped_by_checks)
    if not result.success and not outcome.failures:
        outcome.failures.extend(run_causes or ["the run failed; see `dagster dev` run history"])
    return outcome


def _published_summary(settings: Settings, score_date: str) -> str:
    """Contacts scored, MQLs and quarantined for the date, from the published file."""
    from orchestration.report import next_scored_dates
    from orchestration.resources import connect

    if not settings.publish_path.exists():
        return "nothing published yet"
    con = connect(settings.publish_path, read_only=True)
    try:
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
        if "lead_score_history" not in tables:
            return f"published file {settings.publish_path} has no lead_score_history"
        row = con.execute(
            """
            select count(distinct contact_id),
                   count(*) filter (where stage = 'mql'),
                   count(distinct contact_id) filter (where is_quarantined)
            from lead_score_history where score_date = cast(? as date)
            """,
            [score_date],
        ).fetchone()
        handoffs = (
            con.execute(
                "select count(*) from mql_handoffs where score_date = cast(? as date)",
                [score_date],
            ).fetchone()[0]
            if "mql_handoffs" in tables
            else 0
        )
        # a backfill also rebuilt the next scored date's hand-offs
        rebuilt = (
            [
                (date, count)
                for date in next_scored_dates(con, score_date)
                for (count,) in con.execute(
                    "select count(*) from mql_handoffs where score_date = cast(? as date)",
                    [date],
                ).fetchall()
            ]
            if "mql_handoffs" in tables
            else []
        )
    finally:
        con.close()
    later = "".join(f"; {date}'s hand-offs rebuilt against it ({count})" for date, count in rebuilt)
    return (
        f"{row[0]} contacts scored, {row[1]} contact x model MQLs "
        f"({handoffs} of them handed off on {score_date}), {row[2]} contacts quarantined{later}"
    )


def _report(settings: Settings, outcome: RunOutcome) -> None:
    for warning in outcome.warnings:
        print(f"leadscore: warning: {warning}", file=sys.stderr)
    if outcome.success:
        print(
            f"leadscore: {outcome.score_date} OK in {outcome.seconds:.1f}s: "
            f"{outcome.rows_ingested} rows ingested; "
            f"{_published_summary(settings, outcome.score_date)}; "
            f"published to {settings.publish_path}"
        )
    else:
        fate = (
            f"the tables were published to {settings.publish_path}, then a later step failed"
            if outcome.published
            else "the published tables were left untouched"
        )
        print(
            f"leadscore: {outcome.score_date} FAILED after {outcome.seconds:.1f}s; {fate}:",
            file=sys.stderr,
        )
        for failure in outcome.failures:
            # a failure's own lines (rejected files, dbt's errors) nest under it
            first, *rest = failure.splitlines() or [""]
            print(f"  - {first}", file=sys.stderr)
            for line in rest:
                print(f"    {line}", file=sys.stderr)


def _before_first_score_date(score_date: dt.date, what: str) -> bool:
    """True (with a message) for a date before the job's first daily partition."""
    from orchestration.partitions import score_date_partitions

    first = score_date_partitions.start.date()
    if score_date < first:
        print(
            f"leadscore: {what} {score_date} is before the job's first score date {first}; "
            "set LEADSCORE_PARTITIONS_START (YYYY-MM-DD) to an earlier date to score it",
            file=sys.stderr,
        )
        return True
    return False


def _no_landing_folder(settings: Settings) -> bool:
    """True (with a message) when the landing folder does not exist: a setting to
    fix, not three missing files."""
    if settings.landing_dir.is_dir():
        return False
    what = "is not a folder" if settings.landing_dir.exists() else "does not exist"
    print(
        f"leadscore: landing folder {settings.landing_dir} {what} "
        "(LEADSCORE_LANDING_DIR); point it at the folder your exports land in, or write "
        "the sample there with `leadscore demo-data`; nothing was done",
        file=sys.stderr,
    )
    return True


def _run_refused(args: argparse.Namespace, settings: Settings) -> bool:
    """True (with a message) when `run` or `backfill` cannot start as asked.

    Asked before anything is written (Dagster's home, the warehouse's folder
    and lock): a refused run leaves no trace, whatever directory it ran in.
    """
    if args.command == "run":
        score_date = args.date = args.date or _utc_today()
        if score_date > _utc_today():
            print(f"leadscore: score date {score_date} is in the future", file=sys.stderr)
            return True
        if _before_first_score_date(score_date, "score date"):
            return True
    else:
        if args.end < args.start:
            print("leadscore: --end is before --start", file=sys.stderr)
            return True
        if args.end > _utc_today():
            print(f"leadscore: --end {args.end} is in the future", file=sys.stderr)
            return True
        if _before_first_score_date(args.start, "--start"):
            return True
    return _no_landing_folder(settings)


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    outcome = run_score_date(settings, args.date, quiet=args.quiet)
    _report(settings, outcome)
    return 0 if outcome.success else 1


def cmd_backfill(args: argparse.Namespace, settings: Settings) -> int:
    day = args.start
    total = (args.end - args.start).days + 1
    index = 0
    while day <= args.end:
        index += 1
        print(f"leadscore: backfill {index}/{total}: {day}", flush=True)
        outcome = run_score_date(settings, day, quiet=args.quiet)
        _report(settings, outcome)
        if not outcome.success:
            print(f"leadscore: backfill stopped at {day}; later dates not run", file=sys.stderr)
            return 1
        day += dt.timedelta(days=1)
    return 0


def cmd_demo_data(args: argparse.Namespace, settings: Settings) -> int:
    from orchestration.demo_data import generate

    landing = args.landing or settings.landing_dir
    named = f"--landing {landing}" if args.landing else f"LEADSCORE_LANDING_DIR={landing}"
    if landing.exists() and not landing.is_dir():
        print(f"leadscore: {named}: is a file, not a folder; nothing was written", file=sys.stderr)
        return 2
    marker = landing / DEMO_MARKER
    existing = [p for p in landing.rglob("*") if p.is_file()] if landing.exists() else []
    if existing and args.if_empty:
        print(f"leadscore: {landing} already has landing files; sample data not written")
        return 0
    if existing and not marker.exists() and not args.force:
        print(
            f"leadscore: {landing} already holds {len(existing)} file(s) that demo-data did "
            "not write; refusing to mix sample data with them (use --force to replace them)",
            file=sys.stderr,
        )
        return 2
    try:
        landing.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file where a folder should be, no permission ...
        print(
            f"leadscore: {named}: cannot create the folder: {exc.strerror or exc}; "
            "nothing was written",
            file=sys.stderr,
        )
        return 2
    for path in existing:
        path.unlink()
    started = time.monotonic()
    # Yesterday by default: today's data would reach past "now" and (rightly)
    # fail the not-in-future batch checks of a run started right after.
    end_date = args.end_date or _utc_today() - dt.timedelta(days=1)
    try:
        summary = generate(
            landing,
            contacts=args.contacts,
            seed=args.seed,
            end_date=end_date,
            file_format=args.format,
            progress=lambda message: print(f"leadscore: {message}", flush=True),
        )
        marker.write_text(
            f"written by leadscore demo-data --contacts {args.contacts} --seed {args.seed}\n"
        )
    except OSError as exc:  # no permission, disk full ...
        print(
            f"leadscore: cannot write the sample data to {landing}: "
            f"{exc.strerror or exc}{f' ({exc.filename})' if exc.filename else ''}",
            file=sys.stderr,
        )
        return 1
    rows = ", ".join(f"{count} {entity}" for entity, count in summary.rows.items())
    dirt = ", ".join(f"{count} {kind}" for kind, count in summary.planted.items())
    print(
        f"leadscore: sample data in {landing} ({time.monotonic() - started:.1f}s): {rows}; "
        f"data through {summary.end_date}; planted dirt: {dirt or 'none'}"
    )
    return 0


def cmd_prepare(args: argparse.Namespace, settings: Settings) -> int:
    prepare_manifest()
    print(f"leadscore: dbt manifest prepared in {DBT_PROJECT_DIR / 'target'}")
    return 0


QUIET_HELP = (
    "print warnings, failures and the summary only, not dbt's log and Dagster's info "
    "lines (both are kept: dbt's run folder, Dagster's run history); for cron"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leadscore", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the daily job for a score date")
    run.add_argument("--date", type=_date, help="score date YYYY-MM-DD (default: today, UTC)")
    run.add_argument("--quiet", action="store_true", help=QUIET_HELP)
    run.set_defaults(func=cmd_run)

    backfill = sub.add_parser("backfill", help="rescore a range of dates in order")
    backfill.add_argument("--start", type=_date, required=True)
    backfill.add_argument("--end", type=_date, required=True)
    backfill.add_argument("--quiet", action="store_true", help=QUIET_HELP)
    backfill.set_defaults(func=cmd_backfill)

    demo = sub.add_parser("demo-data", help="write the sample landing files")
    demo.add_argument("--contacts", type=_positive_int, default=2000)
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--format", choices=["csv", "parquet"], default="csv")
    demo.add_argument(
        "--end-date", type=_date, default=None, help="last day of data (default: yesterday, UTC)"
    )
    demo.add_argument("--landing", type=Path, default=None, help="default: LEADSCORE_LANDING_DIR")
    demo.add_argument("--force", action="store_true", help="replace files demo-data did not write")
    demo.add_argument(
        "--if-empty", action="store_true", help="do nothing when the landing folder has files"
    )
    demo.set_defaults(func=cmd_demo_data)

    prepare = sub.add_parser("prepare", help="prepare the dbt manifest (dbt parse)")
    prepare.set_defaults(func=cmd_prepare)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command in ("run", "backfill") and _run_refused(args, settings):
            return 2
        _prepare_environment(settings)
        if args.command not in ("run", "backfill"):
            return args.func(args, settings)
        with warehouse_lock(settings.warehouse_path):
            # after the lock: a second run is refused at once, whatever its settings
            check_run_settings()
            from orchestration.resources import check_publish_writable, check_warehouse_writable

            check_warehouse_writable(settings.warehouse_path)
            check_publish_writable(settings)
            if manifest_is_stale():
                print("leadscore: preparing the dbt manifest (dbt parse)", flush=True)
                prepare_manifest(quiet=True)
            return args.func(args, settings)
    except (SettingsError, WarehouseBusy) as exc:
        print(f"leadscore: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
