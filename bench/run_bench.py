"""End-to-end benchmark: the project's daily run against a hand-written limit and pandas.

    python bench/run_bench.py --contacts 1000000 --accounts 200000 \
        --activities-per-contact 30 --days 365 --workdir /tmp/leadbench \
        [--skip-generate] [--skip-pandas] [--sizes 100000,1000000,3000000] [--date D]

For each size (contact count; accounts scale with it):

1. generate the landing set in Parquet with the project's generator
   (orchestration.demo_data.generate), timing it and its peak RSS;
2. full run: `leadscore run --date D` on an empty warehouse, as a subprocess;
3. next day: append `marketing/activities_<D+1>.parquet` (one day of activity,
   made from an existing day's activity, new ids) and time
   `leadscore run --date D+1` on the same warehouse;
   With `--history-days N`, the warehouse first gets N more days of score
   history before D (copies of D's rows, see `add_history`) and a rescore
   of D publishes them (the settle run, reported, not a target), so that the
   next-day run is measured in a steady state: what a daily refresh costs
   after N days, when the history tables, the reports over them and the
   published file have grown;
4. collect Dagster's per-step durations (the run's event log in the bench's
   DAGSTER_HOME) and dbt's run_results.json (the target folder dagster-dbt
   wrote for the run), to show which step and which models dominate;
5. baseline 1 (bench/baseline_duckdb.py, the limit) at D and D+1, and
   baseline 2 (bench/baseline_pandas.py) at D, on the same landing files;
6. agreement of stage and score (to 0.01) between the project and the baselines;
7. a Markdown report, printed and written to bench/results/<timestamp>.md
   (with the raw figures in <timestamp>.json).

Every measured command runs as its own process tree. Wall time is measured
around it; memory two ways: the peak of the *sum* of RSS over the whole
process tree (psutil, sampled every 0.1 s: Dagster and its dbt subprocess run
at the same time) and the largest single process (`/usr/bin/time -v`,
"Maximum resident set size"). One measured command runs at a time.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import psutil

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from compare import compare, format_reports  # noqa: E402

from orchestration.settings import DEFAULT_DUCKDB_MEMORY_LIMIT  # noqa: E402

PYTHON = Path(sys.executable)
LEADSCORE = PYTHON.parent / "leadscore"
GNU_TIME = Path("/usr/bin/time")
DBT_TARGET_DIR = PROJECT_ROOT / "dbt_project" / "target"

LIMITS = {"full_vs_limit": 2.0, "next_day_vs_full": 0.25, "peak_rss_gb": 4.0}


# ---------------------------------------------------------------------------- measuring


@dataclasses.dataclass
class Measurement:
    """One measured command: wall time, memory of its process tree, exit status."""

    label: str
    command: list[str]
    returncode: int
    seconds: float
    peak_tree_rss_mb: float
    max_process_rss_mb: float | None
    user_seconds: float | None
    system_seconds: float | None
    load_before: float
    log: str
    killed_for_memory: bool = False
    timed_out: bool = False
    stdout_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.killed_for_memory and not self.timed_out

    @property
    def peak_rss_mb(self) -> float:
        return max(self.peak_tree_rss_mb, self.max_process_rss_mb or 0.0)


def _tree_rss(process: psutil.Process) -> tuple[int, str, int]:
    """Summed RSS of the tree, and the name and RSS of its largest process."""
    total, top_name, top_rss = 0, "", 0
    try:
        procs = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0, "", 0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            rss = proc.memory_info().rss
            total += rss
            if rss > top_rss:
                top_rss = rss
                cmd = proc.cmdline()
                top_name = " ".join(Path(c).name for c in cmd[1:3]) if cmd else proc.name()
    return total, top_name, top_rss


def measure(
    label: str,
    command: list[str],
    env: dict[str, str] | None,
    log_path: Path,
    rss_limit_mb: float | None = None,
    timeout_s: float | None = None,
    cwd: Path | None = None,
) -> Measurement:
    """Run `command` as a process tree and measure it (see module docstring)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    time_file = log_path.with_suffix(".time")
    full = list(command)
    if GNU_TIME.exists():
        full = [str(GNU_TIME), "-v", "-o", str(time_file), *full]
    load_before = os.getloadavg()[0]
    peak = 0
    samples: list[tuple[float, int, str, int]] = []
    killed = timed_out = False
    started = time.perf_counter()
    with log_path.open("w") as log:
        log.write(f"$ {' '.join(command)}\n")
        log.flush()
        proc = subprocess.Popen(
            full, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True
        )
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            rss, top_name, top_rss = _tree_rss(root)
            peak = max(peak, rss)
            samples.append((time.time(), rss, top_name, top_rss))
            if rss_limit_mb and rss / 2**20 > rss_limit_mb:
                killed = True
                os.killpg(proc.pid, 9)
                break
            if timeout_s and time.perf_counter() - started > timeout_s:
                timed_out = True
                os.killpg(proc.pid, 9)
                break
            time.sleep(0.1)
        returncode = proc.wait()
    seconds = time.perf_counter() - started
    with log_path.with_suffix(".rss.csv").open("w") as handle:
        handle.write("epoch,tree_rss_mb,largest_process,largest_rss_mb\n")
        for at, rss, top_name, top_rss in samples:
            handle.write(f"{at:.2f},{rss / 2**20:.1f},{top_name},{top_rss / 2**20:.1f}\n")
    max_rss = user = system = None
    if time_file.exists():
        text = time_file.read_text()
        if m := re.search(r"Maximum resident set size \(kbytes\): (\d+)", text):
            max_rss = int(m.group(1)) / 1024.0
        if m := re.search(r"User time \(seconds\): ([\d.]+)", text):
            user = float(m.group(1))
        if m := re.search(r"System time \(seconds\): ([\d.]+)", text):
            system = float(m.group(1))
    tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-25:])
    result = Measurement(
        label=label,
        command=command,
        returncode=returncode,
        seconds=round(seconds, 2),
        peak_tree_rss_mb=round(peak / 2**20, 1),
        max_process_rss_mb=round(max_rss, 1) if max_rss is not None else None,
        user_seconds=user,
        system_seconds=system,
        load_before=round(load_before, 2),
        log=str(log_path),
        killed_for_memory=killed,
        timed_out=timed_out,
        stdout_tail=tail,
    )
    status = (
        "ok"
        if result.ok
        else f"FAILED (rc={returncode}"
        + (", killed: RSS limit" if killed else "")
        + (", timeout" if timed_out else "")
        + ")"
    )
    print(
        f"bench: {label}: {status} in {result.seconds:.1f}s, peak tree RSS "
        f"{result.peak_tree_rss_mb:.0f} MB, largest process {result.max_process_rss_mb} MB",
        flush=True,
    )
    return result


# ---------------------------------------------------------------------------- generation


def generate_child(argv: list[str]) -> int:
    """`run_bench.py _generate ...`: the generator in its own (measured) process."""
    parser = argparse.ArgumentParser(prog="run_bench.py _generate")
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--contacts", type=int, required=True)
    parser.add_argument("--accounts", type=int, required=True)
    parser.add_argument("--activities-per-contact", type=float, required=True)
    parser.add_argument("--days", type=int, required=True)
    parser.add_argument("--end-date", required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-dirt", action="store_true")
    parser.add_argument("--shards", type=int, default=1)
    args = parser.parse_args(argv)
    if args.shards > 1:
        return generate_sharded(args)
    from orchestration.demo_data import generate

    summary = generate(
        args.landing,
        contacts=args.contacts,
        seed=args.seed,
        accounts=args.accounts,
        activities_per_contact=args.activities_per_contact,
        days=args.days,
        end_date=dt.date.fromisoformat(args.end_date),
        file_format="parquet",
        dirt=not args.no_dirt,
        truth_path=args.landing.parent / "truth" / "planted.parquet",
        progress=lambda message: print(f"generate: {message}", flush=True),
    )
    print("GENERATED " + json.dumps({"rows": summary.rows, "planted": summary.planted}), flush=True)
    return 0


#: id columns per landing file; a shard's ids get the suffix -s<k>
_SHARD_ID_COLUMNS = {
    "crm/accounts": ("account_id",),
    "crm/contacts": ("contact_id", "account_id"),
    "crm/opportunities": ("opportunity_id", "account_id", "contact_id"),
    "marketing": ("activity_id", "contact_id"),
}


def generate_sharded(args: argparse.Namespace) -> int:
    """The landing set as `--shards` independent runs of the project's generator.

    The generator holds a whole landing set in memory (about 2.2 GB per million
    contacts), so a set too big for the machine is written as k shards of
    contacts / k contacts and accounts / k accounts, one after the other, each
    with its own seed (seed + 7919 * i), then merged: every id gets the shard's
    suffix (`C0000001-s3`), so contacts, accounts and activities of one shard
    only meet each other. Activity files are rewritten one by one (many files
    are allowed); the three CRM files are concatenated. Emails that two shards
    both use would be duplicates nobody planted: every shard but the first
    with such an address gets `-s<k>` before the `@` (`jane.doe-s3@...`); the
    planted duplicates of a shard stay duplicates. The shards draw account
    domains from the same name pool, so most such clashes are planted role
    and placeholder addresses (`info@<account domain>`), which then no longer
    look like role or placeholder addresses: the 10M set has somewhat less
    of that dirt than a single generation (2% of its emails were renamed).
    The planted-dirt truth files are not merged.
    """
    from orchestration.demo_data import generate

    landing: Path = args.landing
    shards_dir = landing.parent / "shards"
    shutil.rmtree(shards_dir, ignore_errors=True)
    for sub in ("crm", "marketing"):
        (landing / sub).mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(landing.parent / "shards.duckdb"))
    con.execute("set memory_limit = '2GB'; set preserve_insertion_order = false")
    rows = {"accounts": 0, "contacts": 0, "opportunities": 0, "activities": 0}
    for k in range(args.shards):
        contacts = args.contacts // args.shards + (k < args.contacts % args.shards)
        accounts = max(1, args.accounts // args.shards + (k < args.accounts % args.shards))
        shard = shards_dir / f"s{k}"
        print(f"generate: shard {k + 1}/{args.shards}: {contacts:,} contacts", flush=True)
        summary = generate(
            shard / "landing",
            contacts=contacts,
            seed=args.seed + 7919 * k,
            accounts=accounts,
            activities_per_contact=args.activities_per_contact,
            days=args.days,
            end_date=dt.date.fromisoformat(args.end_date),
            file_format="parquet",
            dirt=not args.no_dirt,
            truth_path=shard / "truth" / "planted.parquet",
            progress=lambda message, k=k: print(f"generate: s{k}: {message}", flush=True),
        )
        for entity, count in summary.rows.items():
            rows[entity] = rows.get(entity, 0) + count

        def renamed(path: Path, columns: tuple[str, ...], k: int = k) -> str:
            ids = {c: f"{c} || '-s{k}' as {c}" for c in columns}
            names = [
                r[0]
                for r in con.execute(f"describe select * from read_parquet('{path}')").fetchall()
            ]
            return ", ".join(ids.get(n, n) for n in names)

        for path in sorted((shard / "landing" / "marketing").glob("*.parquet")):
            target = landing / "marketing" / f"{path.stem}_s{k}.parquet"
            con.execute(
                f"copy (select {renamed(path, _SHARD_ID_COLUMNS['marketing'])} "
                f"from read_parquet('{path}')) to '{target}' (format parquet, compression zstd)"
            )
        for entity in ("accounts", "contacts", "opportunities"):
            path = shard / "landing" / "crm" / f"{entity}.parquet"
            if not path.exists():
                continue
            select = (
                f"select {renamed(path, _SHARD_ID_COLUMNS['crm/' + entity])}, {k} as _shard "
                f"from read_parquet('{path}')"
            )
            if k == 0:
                con.execute(f"create or replace table {entity} as {select}")
            else:
                con.execute(f"insert into {entity} by name {select}")
        shutil.rmtree(shard)
    # emails used by more than one shard: numbered apart in every shard but the first
    con.execute("""
        create or replace temp table email_owner as
        select lower(trim(email)) as normalized, min(_shard) as owner
        from contacts where trim(email) <> '' group by all having count(distinct _shard) > 1
    """)
    clashes = con.execute("select count(*) from email_owner").fetchone()[0]
    con.execute("""
        update contacts set email = case
                when contains(contacts.email, '@')
                    then regexp_replace(contacts.email, '@', '-s' || contacts._shard || '@')
                else contacts.email || '-s' || contacts._shard end
        from email_owner
        where lower(trim(contacts.email)) = email_owner.normalized
          and contacts._shard <> email_owner.owner
    """)
    for entity in ("accounts", "contacts", "opportunities"):
        con.execute(
            f"copy (select * exclude (_shard) from {entity}) "
            f"to '{landing / 'crm' / (entity + '.parquet')}' (format parquet, compression zstd)"
        )
    con.close()
    (landing.parent / "shards.duckdb").unlink()
    shutil.rmtree(shards_dir, ignore_errors=True)
    print(f"generate: {clashes:,} emails used by several shards numbered apart", flush=True)
    print("GENERATED " + json.dumps({"rows": rows, "shards": args.shards}), flush=True)
    return 0


def next_day_file(landing: Path, score_date: dt.date) -> Path:
    return (
        landing / "marketing" / f"activities_{score_date + dt.timedelta(days=1):%Y_%m_%d}.parquet"
    )


def append_next_day(landing: Path, score_date: dt.date) -> tuple[Path, int]:
    """One more day of activity for D+1: a seventh of the last week's activities
    (D-6 .. D, picked by a hash of the id, so an average day rather than a send
    day or a quiet Sunday), moved to D+1 at the same time of day, with new ids
    after the largest existing one. Contacts, campaigns, URLs and types stay
    consistent with the generated data."""
    target = next_day_file(landing, score_date)
    sources = sorted(p for p in (landing / "marketing").glob("activities*.parquet") if p != target)
    files = "[" + ", ".join(f"'{p}'" for p in sources) + "]"
    next_date = score_date + dt.timedelta(days=1)
    week_start = score_date - dt.timedelta(days=6)
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    # the number after ACT (a sharded set's ids end with -s<k>: ACT00000001-s3)
    number = r"regexp_extract(activity_id, '^ACT([0-9]+)', 1)"
    width, max_n = con.execute(
        f"select max(length({number})), max(try_cast({number} as bigint)) "
        f"from read_parquet({files})"
    ).fetchone()
    con.execute(
        f"""
        copy (
            select
                printf('ACT%0{int(width)}d',
                    {int(max_n)} + row_number() over (order by moved_at, activity_id)
                ) as activity_id,
                contact_id,
                activity_type,
                moved_at as occurred_at,
                channel, url, campaign_id, product_line, user_agent
            from (
                select *,
                    occurred_at + to_days(
                        cast(date '{next_date}' - cast(occurred_at as date) as integer)
                    ) as moved_at
                from read_parquet({files})
                where occurred_at >= timestamp '{week_start}'
                    and occurred_at < timestamp '{next_date}'
                    and hash(activity_id) % 7 = 0
            )
            order by moved_at, activity_id
        ) to '{target}' (format parquet, compression zstd)
        """
    )
    rows = con.execute(f"select count(*) from read_parquet('{target}')").fetchone()[0]
    con.close()
    return target, int(rows)


#: The tables that hold one set of rows per score date and keep every date
#: (lead_scores and lead_score_components hold the latest date only).
HISTORY_TABLES = (
    "marts.lead_score_history",
    "marts.account_scores",
    "marts.mql_handoffs",
    "intermediate.int_reporting__score_deciles",
    "intermediate.int_quality__contact_flag_history",
    "intermediate.int_quality__flag_score_dates",
)


def add_history(warehouse: Path, score_date: dt.date, days: int) -> dict[str, int]:
    """Give the warehouse `days` more score dates before D: each history table
    gets a copy of its rows of D for every date D - days .. D - 1. The values
    are D's, the sizes are what a daily run for that many days leaves, which
    is what the steady-state measurement needs (the cost of scanning,
    rolling up and publishing history). Returns the rows added per table."""
    con = duckdb.connect(str(warehouse))
    added = {}
    try:
        con.execute("set preserve_insertion_order = false")
        for table in HISTORY_TABLES:
            existing = con.execute(
                f"select count(*) from {table} where score_date < date '{score_date}'"
            ).fetchone()[0]
            if existing:
                raise SystemExit(
                    f"bench: --history-days: {table} already holds {existing:,} rows "
                    f"before {score_date}"
                )
            con.execute(
                f"""
                insert into {table}
                select t.* replace (cast(t.score_date - cast(k.i as integer) as date) as score_date)
                from {table} as t, range(1, {int(days)} + 1) as k(i)
                where t.score_date = date '{score_date}'
                """
            )
            added[table] = con.execute(
                f"select count(*) from {table} where score_date < date '{score_date}'"
            ).fetchone()[0]
        con.execute("checkpoint")
    finally:
        con.close()
    return added


# ---------------------------------------------------------------------------- project run details


def dagster_profile(dagster_home: Path) -> dict:
    """Per-step durations of the latest run in this DAGSTER_HOME (its event log)."""
    code = r"""
import json, sys
from dagster import DagsterInstance, DagsterEventType
with DagsterInstance.get() as instance:
    runs = instance.get_runs(limit=1)
    if not runs:
        print(json.dumps({})); sys.exit(0)
    run = runs[0]
    stats = instance.get_run_stats(run.run_id)
    def span(x):
        return (x.end_time - x.start_time) if x.end_time and x.start_time else None
    steps = [
        {"step": s.step_key, "status": str(s.status.value if s.status else None),
         "seconds": span(s), "start": s.start_time, "end": s.end_time}
        for s in instance.get_run_step_stats(run.run_id)
    ]
    print(json.dumps({"run_id": run.run_id, "status": str(run.status.value),
                      "run_seconds": span(stats), "steps": steps}))
"""
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    result = subprocess.run(
        [str(PYTHON), "-c", code], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        return {"error": result.stderr[-2000:]}
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return {"error": result.stdout[-2000:]}


def attach_step_rss(profile: dict, rss_csv: Path) -> None:
    """Peak tree RSS (and the largest process then) within each Dagster step's window."""
    if not rss_csv.exists() or not profile.get("steps"):
        return
    samples = []
    for line in rss_csv.read_text().splitlines()[1:]:
        parts = line.split(",")
        samples.append((float(parts[0]), float(parts[1]), ",".join(parts[2:-1]), float(parts[-1])))
    for step in profile["steps"]:
        start, end = step.get("start"), step.get("end")
        if not start or not end:
            continue
        inside = [s for s in samples if start <= s[0] <= end]
        if inside:
            _, tree, name, top = max(inside, key=lambda s: s[1])
            step["peak_tree_rss_mb"] = tree
            step["largest_process"] = f"{name} ({top:.0f} MB)"


def dbt_profile(run_id: str | None, copy_to: Path) -> dict:
    """dbt's run_results.json of the run (dagster-dbt's target folder), summarised."""
    if not run_id or not DBT_TARGET_DIR.is_dir():
        return {}
    candidates = [
        p / "run_results.json"
        for p in DBT_TARGET_DIR.iterdir()
        if p.is_dir() and run_id[:7] in p.name and (p / "run_results.json").exists()
    ]
    if not candidates:
        return {"error": f"no run_results.json under {DBT_TARGET_DIR} for run {run_id[:7]}"}
    path = max(candidates, key=lambda p: p.stat().st_mtime)
    copy_to.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, copy_to)
    data = json.loads(path.read_text())
    by_type: dict[str, float] = {}
    nodes = []
    for result in data.get("results", []):
        unique_id = result["unique_id"]
        kind = unique_id.split(".")[0]
        seconds = float(result.get("execution_time") or 0.0)
        by_type[kind] = by_type.get(kind, 0.0) + seconds
        nodes.append(
            {
                "node": unique_id.split(".", 2)[-1],
                "type": kind,
                "seconds": round(seconds, 2),
                "status": result.get("status"),
            }
        )
    nodes.sort(key=lambda n: -n["seconds"])
    startup = _dbt_startup(path.parent / "dbt.log")
    return {
        **startup,
        "run_results": str(copy_to),
        "elapsed_seconds": round(float(data.get("elapsed_time") or 0.0), 2),
        "seconds_by_type": {
            k: round(v, 2) for k, v in sorted(by_type.items(), key=lambda kv: -kv[1])
        },
        "top_nodes": nodes[:15],
        "node_count": len(nodes),
    }


def _dbt_startup(log_path: Path) -> dict:
    """Seconds dbt spent before running the first node (parsing), and why it re-parsed."""
    if not log_path.exists():
        return {}
    first = ready = None
    reason = "partial parse used"
    for line in log_path.open(errors="replace"):
        try:
            info = json.loads(line)["info"]
        except (json.JSONDecodeError, KeyError):
            continue
        at = dt.datetime.fromisoformat(info["ts"].replace("Z", "+00:00"))
        first = first or at
        if info.get("name") == "UnableToPartialParse":
            reason = info.get("msg", "full parse")
        if info.get("name") == "ConcurrencyLine":
            ready = at
            break
    if not (first and ready):
        return {}
    return {"startup_seconds": round((ready - first).total_seconds(), 1), "parse": reason}


def export_project_outputs(
    warehouse: Path, publish: Path, score_date: dt.date, out_dir: Path
) -> dict[str, str]:
    """Flags for the baselines and the project's scores for D, as Parquet files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    if not warehouse.exists():
        return written
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = {
            f"{r[0]}.{r[1]}"
            for r in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
        } | {
            f"{r[0]}.{r[1]}"
            for r in con.execute("select schema_name, view_name from duckdb_views()").fetchall()
        }
        exports = {
            "contact_flags": (
                "intermediate.int_quality__contact_flags",
                "select distinct contact_id from {t}",
            ),
            # the bot flags that apply on D (a burst across midnight applies from the next day)
            "activity_flags": (
                "intermediate.int_quality__activity_flags",
                "select distinct activity_id from {t} "
                f"where applies_from_date <= date '{score_date}'",
            ),
            "duplicates": ("intermediate.int_crm__contact_duplicates", "select * from {t}"),
            "contact_flag_reasons": (
                "intermediate.int_quality__contact_flags",
                "select * from {t}",
            ),
        }
        for name, (table, sql) in exports.items():
            if table in tables:
                path = out_dir / f"{name}.parquet"
                con.execute(f"copy ({sql.format(t=table)}) to '{path}' (format parquet)")
                written[name] = str(path)
        if "marts.lead_score_history" in tables:
            path = out_dir / "project_warehouse_scores.parquet"
            con.execute(
                "copy (select * from marts.lead_score_history "
                f"where score_date = date '{score_date}') to '{path}' (format parquet)"
            )
            written["warehouse_scores"] = str(path)
    finally:
        con.close()
    if publish.exists():
        con = duckdb.connect(str(publish), read_only=True)
        try:
            tables = {
                r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()
            }
            if "lead_scores" in tables:
                path = out_dir / "project_published_scores.parquet"
                con.execute(
                    f"copy (select * from lead_scores where score_date = date '{score_date}') "
                    f"to '{path}' (format parquet)"
                )
                if con.execute(f"select count(*) from read_parquet('{path}')").fetchone()[0]:
                    written["published_scores"] = str(path)
        finally:
            con.close()
    return written


# ---------------------------------------------------------------------------- one size


@dataclasses.dataclass
class SizeResult:
    contacts: int
    accounts: int
    score_date: str
    rows: dict = dataclasses.field(default_factory=dict)
    next_day_rows: int = 0
    history_rows: dict[str, int] = dataclasses.field(default_factory=dict)
    measurements: dict[str, Measurement] = dataclasses.field(default_factory=dict)
    dagster: dict[str, dict] = dataclasses.field(default_factory=dict)
    dbt: dict[str, dict] = dataclasses.field(default_factory=dict)
    agreement: dict[str, str] = dataclasses.field(default_factory=dict)
    agreement_ok: dict[str, bool] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)


def check_state_at(state: Path, landing: Path, score_date: dt.date) -> None:
    """Stop unless `state` holds a completed full run at `score_date` (for --next-day-only).

    Completed: the published file says it was published for D (a run that
    failed before publishing, or a next-day run already made, does not
    qualify), and the warehouse has not loaded the next-day file yet.
    """
    published = state / "published" / "published.duckdb"
    warehouse = state / "warehouse.duckdb"
    if not published.exists() or not warehouse.exists():
        raise SystemExit(
            f"bench: --next-day-only: no warehouse and published file in {state}; "
            "run the full run first (without --next-day-only)"
        )
    try:
        con = duckdb.connect(str(published), read_only=True)
        try:
            (published_for,) = con.execute(
                "select cast(max(score_date) as varchar) from _publish_info"
            ).fetchone()
        finally:
            con.close()
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            (loaded,) = con.execute(
                "select count(*) from raw._load_log where source_file = ?",
                [f"marketing/{next_day_file(landing, score_date).name}"],
            ).fetchone()
        finally:
            con.close()
    except duckdb.Error as exc:
        raise SystemExit(
            f"bench: --next-day-only: cannot read the state in {state} ({exc}); "
            "run the full run first (without --next-day-only)"
        ) from None
    if published_for != str(score_date):
        raise SystemExit(
            f"bench: --next-day-only: {published} was published for {published_for}, not "
            f"{score_date}; run the full run at {score_date} first"
        )
    if loaded:
        raise SystemExit(
            f"bench: --next-day-only: {warehouse} has already loaded the next-day file; "
            f"run the full run at {score_date} again"
        )


def run_size(args: argparse.Namespace, contacts: int, accounts: int) -> SizeResult:
    score_date = dt.date.fromisoformat(args.date)
    next_date = score_date + dt.timedelta(days=1)
    wd = Path(args.workdir) / f"c{contacts}"
    landing = wd / "landing"
    logs = wd / "logs"
    out = wd / "out"
    meta_path = wd / "bench_meta.json"
    result = SizeResult(contacts=contacts, accounts=accounts, score_date=str(score_date))
    wanted = {
        "contacts": contacts,
        "accounts": accounts,
        "activities_per_contact": args.activities_per_contact,
        "days": args.days,
        "end_date": str(score_date),
        "seed": args.seed,
        "dirt": not args.no_dirt,
    }
    if args.shards > 1:
        wanted["shards"] = args.shards
    print(
        f"\nbench: ===== {contacts:,} contacts, {accounts:,} accounts, D = {score_date} =====",
        flush=True,
    )

    # 1. generate
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    reuse = args.skip_generate and meta.get("params") == wanted and (landing / "crm").is_dir()
    if args.skip_generate and not reuse:
        # never delete a landing set that took long to write because one option differs
        raise SystemExit(
            f"bench: --skip-generate: no landing set in {wd} was generated with "
            f"{json.dumps(wanted)} (found {json.dumps(meta.get('params'))}); "
            + (
                "pass the --date (and sizes) of the full run it follows"
                if args.next_day_only
                else "drop --skip-generate to generate it"
            )
        )
    if reuse:
        result.rows = meta.get("rows", {})
        if "generate" in meta:
            result.measurements["generate"] = Measurement(**meta["generate"])
        next_day_file(landing, score_date).unlink(missing_ok=True)
    else:
        shutil.rmtree(wd, ignore_errors=True)
        wd.mkdir(parents=True)
        command = [
            str(PYTHON), str(Path(__file__).resolve()), "_generate", "--landing", str(landing),
            "--contacts", str(contacts), "--accounts", str(accounts),
            "--activities-per-contact", str(args.activities_per_contact), "--days", str(args.days),
            "--end-date", str(score_date), "--seed", str(args.seed),
        ]  # fmt: skip
        if args.no_dirt:
            command.append("--no-dirt")
        if args.shards > 1:
            command += ["--shards", str(args.shards)]
        m = measure("generate", command, None, logs / "generate.log", cwd=PROJECT_ROOT)
        result.measurements["generate"] = m
        if not m.ok:
            result.notes.append(f"generation failed:\n{m.stdout_tail}")
            return result
        for line in Path(m.log).read_text().splitlines():
            if line.startswith("GENERATED "):
                result.rows = json.loads(line.removeprefix("GENERATED "))["rows"]
        meta_path.write_text(
            json.dumps(
                {"params": wanted, "rows": result.rows, "generate": dataclasses.asdict(m)}, indent=2
            )
        )

    if args.generate_only:
        result.notes.append("--generate-only: landing set written, nothing else run")
        return result

    # 2. the project's full run, on an empty warehouse (or, with
    # --next-day-only, the warehouse an earlier full run at D left)
    state = wd / "state"
    if args.next_day_only:
        check_state_at(state, landing, score_date)
    else:
        shutil.rmtree(state, ignore_errors=True)
    env = {
        **os.environ,
        "LEADSCORE_LANDING_DIR": str(landing),
        "LEADSCORE_WAREHOUSE_PATH": str(state / "warehouse.duckdb"),
        "LEADSCORE_PUBLISH_PATH": str(state / "published" / "published.duckdb"),
        "LEADSCORE_EXPORT_DIR": str(state / "published" / "parquet"),
        "LEADSCORE_AUDIT_DIR": str(state / "audit"),
        "DAGSTER_HOME": str(state / "dagster_home"),
        "LEADSCORE_SCHEDULE_ENABLED": "0",
    }
    (state / "dagster_home").mkdir(parents=True, exist_ok=True)
    (state / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    # dbt parse outside the timed runs (leadscore run would do it when the manifest is stale)
    prep = measure(
        "prepare (dbt parse)",
        [str(LEADSCORE), "prepare"],
        env,
        logs / "prepare.log",
        cwd=PROJECT_ROOT,
    )
    result.measurements["prepare"] = prep

    project_ok = {}
    days = [] if args.next_day_only else [("full_run", score_date)]
    if args.next_day_only:
        result.notes.append(
            "--next-day-only: the next-day run on the warehouse of an earlier full run at D "
            "(see that run's report for the full run and the ratio)"
        )
    if args.skip_next_day:
        result.notes.append("--skip-next-day: the next-day run was not measured")
    else:
        days.append(("next_day_run", next_date))
    for key, day in days:
        if (
            key == "next_day_run"
            and args.history_days
            and (project_ok.get("full_run") or args.next_day_only)
        ):
            t0 = time.monotonic()
            added = add_history(state / "warehouse.duckdb", score_date, args.history_days)
            result.history_rows = added
            result.notes.append(
                f"--history-days {args.history_days}: added "
                + ", ".join(f"{t} {n:,}" for t, n in added.items())
                + f" rows (copies of D's) in {time.monotonic() - t0:.0f} s; the settle run "
                "(a rescore of D) published them before the next-day run"
            )
            result.measurements["settle_run"] = measure(
                f"leadscore run --date {score_date} (settle)",
                [str(LEADSCORE), "run", "--date", str(score_date)],
                env,
                logs / "settle_run.log",
                timeout_s=args.timeout_minutes * 60 if args.timeout_minutes else None,
                cwd=PROJECT_ROOT,
            )
            if not result.measurements["settle_run"].ok:
                result.notes.append("the settle run failed; the next-day run was not measured")
                break
        if key == "next_day_run":
            target, rows = append_next_day(landing, score_date)
            result.next_day_rows = rows
            print(
                f"bench: appended {rows:,} activities for {next_date} in {target.name}", flush=True
            )
        m = measure(
            f"leadscore run --date {day}",
            [str(LEADSCORE), "run", "--date", str(day)],
            env,
            logs / f"{key}.log",
            timeout_s=args.timeout_minutes * 60 if args.timeout_minutes else None,
            cwd=PROJECT_ROOT,
        )
        result.measurements[key] = m
        project_ok[key] = m.ok
        if not m.ok:
            result.notes.append(f"{key} failed (rc={m.returncode}); last lines:\n{m.stdout_tail}")
        result.dagster[key] = dagster_profile(state / "dagster_home")
        attach_step_rss(result.dagster[key], Path(m.log).with_suffix(".rss.csv"))
        result.dbt[key] = dbt_profile(
            result.dagster[key].get("run_id"), logs / f"{key}_run_results.json"
        )
        written = export_project_outputs(
            state / "warehouse.duckdb",
            state / "published" / "published.duckdb",
            day,
            out / f"project_{day}",
        )
        (out / f"project_{day}" / "written.json").write_text(json.dumps(written, indent=2))

    # 3. baselines on the same landing files, with the project's quality flags of each date
    baseline_runs = [] if args.next_day_only else [("limit", "baseline_duckdb.py", score_date)]
    if not args.skip_next_day:
        baseline_runs.append(("limit_next_day", "baseline_duckdb.py", next_date))
    if args.limit_memory and not args.next_day_only:
        baseline_runs.append(("limit_capped", "baseline_duckdb.py", score_date))
    if args.skip_limit:
        result.notes.append("--skip-limit: the limit query was not run")
        baseline_runs = []
    if (
        not args.skip_pandas
        and not args.next_day_only
        and (args.pandas_max_contacts is None or contacts <= args.pandas_max_contacts)
    ):
        baseline_runs.append(("pandas", "baseline_pandas.py", score_date))
    elif not args.next_day_only:
        result.notes.append(
            "pandas baseline skipped at this size (--skip-pandas / --pandas-max-contacts)"
        )
    for key, script, day in baseline_runs:
        flags = out / f"project_{day}"
        command = [
            str(PYTHON), str(BENCH_DIR / script), "--landing", str(landing), "--date", str(day),
            "--out", str(out / f"{key}_{day}.parquet"),
        ]  # fmt: skip
        if key == "limit_capped":
            command += ["--memory-limit", args.limit_memory]
        if (flags / "contact_flags.parquet").exists() or (
            flags / "activity_flags.parquet"
        ).exists():
            command += ["--flags", str(flags)]
        else:
            result.notes.append(
                f"{key}: no quality flags from the project for {day}; baselines ran without"
            )
        result.measurements[key] = measure(
            f"{script} --date {day}",
            command,
            None,
            logs / f"{key}.log",
            rss_limit_mb=args.pandas_rss_limit_gb * 1024 if key == "pandas" else None,
            timeout_s=args.timeout_minutes * 60 if args.timeout_minutes else None,
        )

    # 4. agreement
    checks = [] if args.next_day_only else [(score_date, ["limit", "pandas"])]
    if not args.skip_next_day:
        checks.append((next_date, ["limit_next_day"]))
    for day, keys in checks:
        written_path = out / f"project_{day}" / "written.json"
        written = json.loads(written_path.read_text()) if written_path.exists() else {}
        sources, names = [], []
        project = written.get("published_scores") or written.get("warehouse_scores")
        if project:
            sources.append(project)
            names.append("project")
        for key in keys:
            path = out / f"{key}_{day}.parquet"
            if key in result.measurements and result.measurements[key].ok and path.exists():
                sources.append(str(path))
                names.append("limit" if key.startswith("limit") else key)
        if len(sources) >= 2:
            reports = compare(sources, names, str(day), examples=args.examples)
            result.agreement[str(day)] = format_reports(reports)
            result.agreement_ok[str(day)] = all(r.agrees for r in reports)
            print(f"bench: agreement on {day}:\n{result.agreement[str(day)]}", flush=True)
        else:
            result.agreement[str(day)] = (
                f"nothing to compare on {day}: only {names} ran (baselines skipped or failed)"
            )
    return result


# ---------------------------------------------------------------------------- report


def _fmt_s(m: Measurement | None) -> str:
    if m is None:
        return "n/a"
    text = f"{m.seconds:.1f}"
    if not m.ok:
        text += (
            " (FAILED"
            + (", RSS limit" if m.killed_for_memory else "")
            + (", timeout" if m.timed_out else "")
            + ")"
        )
    return text


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "n/a"
    return f"{a / b:.2f}x"


def report(results: list[SizeResult], args: argparse.Namespace) -> str:
    lines = [
        f"# leadscore bench, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GB RAM; "
        f"DuckDB {duckdb.__version__}; Python {sys.version.split()[0]}. "
        f"Landing: Parquet, {args.activities_per_contact} activities/contact "
        f"over {args.days} days, "
        f"dirt {'off' if args.no_dirt else 'on'}, seed {args.seed}.",
        "",
        "Peak RSS = max(peak of the summed RSS of the process tree sampled every 0.1 s, "
        "largest single process from /usr/bin/time -v). Ratios: wall time and peak RSS "
        "divided by the limit query's (baseline_duckdb at D).",
    ]
    for r in results:
        ms = r.measurements
        limit = ms.get("limit")
        rows = r.rows or {}
        lines += [
            "",
            f"## {r.contacts:,} contacts, {r.accounts:,} accounts, "
            f"{rows.get('activities', 0):,} activities; D = {r.score_date}; "
            + (
                f"next day +{r.next_day_rows:,} activities"
                if "next_day_run" in ms
                else "next day not run"
            )
            + (f"; landing generated as {args.shards} merged shards" if args.shards > 1 else ""),
            "",
            "| step | wall time (s) | peak RSS (MB) | time / limit | RSS / limit "
            "| load avg before |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        order = [
            ("generate", "generate landing (Parquet)"),
            ("prepare", "`leadscore prepare` (dbt parse, not in the runs)"),
            ("full_run", "full run `leadscore run --date D`"),
            ("settle_run", "settle: rescore D to publish the added history (not a target)"),
            (
                "next_day_run",
                "next-day run `leadscore run --date D+1`"
                + (f", {args.history_days + 2} days of history" if args.history_days else ""),
            ),
            ("limit", "limit: baseline_duckdb D"),
            ("limit_next_day", "limit: baseline_duckdb D+1"),
            ("limit_capped", f"limit: baseline_duckdb D, DuckDB memory_limit {args.limit_memory}"),
            ("pandas", "pandas: baseline_pandas D"),
        ]
        for key, name in order:
            m = ms.get(key)
            if m is None:
                continue
            lines.append(
                f"| {name} | {_fmt_s(m)} | {m.peak_rss_mb:.0f} | "
                f"{_ratio(m.seconds, limit.seconds if limit and limit.ok else None)} | "
                f"{_ratio(m.peak_rss_mb, limit.peak_rss_mb if limit and limit.ok else None)} | "
                f"{m.load_before} |"
            )
        full, nxt = ms.get("full_run"), ms.get("next_day_run")
        lines += ["", "Targets:", ""]
        if full and limit and full.ok and limit.ok:
            ratio = full.seconds / limit.seconds
            lines.append(
                f"- full run / limit = {ratio:.2f}x (target <= {LIMITS['full_vs_limit']}x): "
                f"{'MET' if ratio <= LIMITS['full_vs_limit'] else 'MISSED'}"
            )
        if full and nxt and full.ok and nxt.ok:
            ratio = nxt.seconds / full.seconds
            lines.append(
                f"- next-day run / full run = {ratio:.2f}x "
                f"(target <= {LIMITS['next_day_vs_full']}x): "
                f"{'MET' if ratio <= LIMITS['next_day_vs_full'] else 'MISSED'}"
            )
        for key in ("full_run", "next_day_run"):
            m = ms.get(key)
            if m:
                gb = m.peak_rss_mb / 1024
                lines.append(
                    f"- {key} peak RSS = {gb:.2f} GB (target < {LIMITS['peak_rss_gb']} GB): "
                    f"{'MET' if gb < LIMITS['peak_rss_gb'] else 'MISSED'}"
                )
        for key in ("full_run", "next_day_run"):
            dag = r.dagster.get(key) or {}
            if dag.get("steps"):
                lines += [
                    "",
                    f"### Dagster steps, {key} (run {str(dag.get('run_id'))[:8]}, "
                    f"job {dag.get('run_seconds') and round(dag['run_seconds'], 1)} s of "
                    f"{ms[key].seconds:.1f} s process wall)",
                    "",
                    "| step | status | seconds | peak tree RSS (MB) | largest process then |",
                    "|---|---|---:|---:|---|",
                ]
                for step in sorted(dag["steps"], key=lambda s: -(s["seconds"] or 0)):
                    sec = f"{step['seconds']:.1f}" if step["seconds"] is not None else "n/a"
                    rss = step.get("peak_tree_rss_mb")
                    lines.append(
                        f"| {step['step']} | {step['status']} | {sec} | "
                        f"{f'{rss:.0f}' if rss else 'n/a'} | {step.get('largest_process', '')} |"
                    )
            elif dag:
                lines += ["", f"Dagster profile of {key} unavailable: {str(dag)[:500]}"]
            prof = r.dbt.get(key) or {}
            if prof.get("top_nodes"):
                lines += [
                    "",
                    f"### dbt, {key}: elapsed {prof['elapsed_seconds']} s over "
                    f"{prof['node_count']} nodes, after {prof.get('startup_seconds', '?')} s "
                    f"of start-up ({prof.get('parse', '?')}); seconds by type (summed over "
                    "threads): "
                    + ", ".join(f"{k} {v}" for k, v in prof["seconds_by_type"].items()),
                    "",
                    "| node | type | seconds |",
                    "|---|---|---:|",
                ]
                for node in prof["top_nodes"][:12]:
                    lines.append(f"| {node['node']} | {node['type']} | {node['seconds']} |")
            elif prof:
                lines += ["", f"dbt profile of {key} unavailable: {prof.get('error')}"]
        for key in ("limit", "pandas"):
            m = ms.get(key)
            if m and m.ok:
                for line in Path(m.log).read_text().splitlines():
                    if line.startswith("BASELINE_RESULT "):
                        phases = json.loads(line.removeprefix("BASELINE_RESULT ")).get("phases", {})
                        lines += [
                            "",
                            f"{key} phases (s): "
                            + ", ".join(f"{k} {v}" for k, v in phases.items()),
                        ]
        lines += ["", "### Agreement (stage exact, score within 0.01)", ""]
        for day, text in r.agreement.items():
            lines += [f"{day}:", "", "```", text, "```", ""]
        if r.notes:
            lines += ["### Notes", ""] + [f"- {n}" for n in r.notes]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=None, help="default contacts / 5")
    parser.add_argument("--activities-per-contact", type=float, default=30.0)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/leadbench"))
    parser.add_argument(
        "--sizes", default=None, help="comma-separated contact counts; accounts scale"
    )
    parser.add_argument("--date", default=None, help="score date D (default: today - 2 days, UTC)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-dirt", action="store_true", help="generate without planted dirt")
    parser.add_argument(
        "--skip-generate", action="store_true", help="reuse the workdir's landing set"
    )
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument(
        "--skip-next-day", action="store_true", help="measure the full run only (big sizes)"
    )
    parser.add_argument(
        "--skip-limit",
        action="store_true",
        help="do not run the limit query (it needs ~6.5 GB per million contacts)",
    )
    parser.add_argument(
        "--shards",
        type=int,
        default=1,
        help="generate the landing set as this many merged shards (sizes too big to "
        "generate in memory at once: ~2.2 GB per million contacts)",
    )
    parser.add_argument(
        "--generate-only", action="store_true", help="write the landing set(s) and stop"
    )
    parser.add_argument(
        "--next-day-only",
        action="store_true",
        help="only the next-day run, on the state an earlier full run at D left in the "
        "workdir (implies --skip-generate; big sizes: the full run need not be repeated)",
    )
    parser.add_argument(
        "--pandas-max-contacts", type=int, default=None, help="skip pandas above this many contacts"
    )
    parser.add_argument(
        "--pandas-rss-limit-gb",
        type=float,
        default=16.0,
        help="kill the pandas baseline above this RSS (machine safety)",
    )
    parser.add_argument(
        "--limit-memory",
        default=DEFAULT_DUCKDB_MEMORY_LIMIT,
        help="also run the limit with this DuckDB memory_limit (default: the project's "
        "default budget); '' to skip",
    )
    parser.add_argument(
        "--history-days",
        type=int,
        default=0,
        help="before the next-day run, add N days of score history before D (copies of D's "
        "rows) and publish them, to measure a daily run in a steady state",
    )
    parser.add_argument("--timeout-minutes", type=float, default=180.0)
    parser.add_argument("--examples", type=int, default=5)
    parser.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    args = parser.parse_args(argv)
    if args.history_days < 0 or (args.history_days and args.skip_next_day):
        parser.error("--history-days needs a next-day run and a number of days >= 0")
    if args.next_day_only:
        if args.skip_next_day or args.generate_only:
            parser.error("--next-day-only excludes --skip-next-day and --generate-only")
        args.skip_generate = True
    if args.date is None:
        args.date = str(dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2))
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_generate"]:
        return generate_child(argv[1:])
    args = parse_args(argv)
    ratio = (args.accounts / args.contacts) if args.accounts else 0.2
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [args.contacts]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for contacts in sizes:
        accounts = (
            args.accounts
            if (args.accounts and contacts == args.contacts)
            else max(1, round(contacts * ratio))
        )
        results.append(run_size(args, contacts, accounts))
        text = report(results, args)
        (args.results_dir / f"{stamp}.md").write_text(text)
        (args.results_dir / f"{stamp}.json").write_text(
            json.dumps([dataclasses.asdict(r) for r in results], indent=2, default=str)
        )
    print("\n" + text)
    print(f"bench: report written to {args.results_dir / f'{stamp}.md'}")
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    sys.exit(main())
