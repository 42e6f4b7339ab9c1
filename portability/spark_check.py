"""Build the dbt project on Spark and compare every published mart with DuckDB's.

The models are written to run on Spark too (dbt-spark, `method: session`,
local PySpark, Parquet tables). This script proves it on a warehouse that
`leadscore run` built: it copies the warehouse's dbt sources into a local
Spark metastore, runs `dbt build --target spark` for the same score dates in
the same order, and compares the marts row by row with the DuckDB ones.

Run it with the Python of an environment holding dbt-spark, PySpark and
DuckDB (`make spark-check` creates one in `.venv-spark` and runs it on the
sample data); Java 17 must be installed. Exit status: 0 when every mart
matches, 1 when one differs or a build fails.

    .venv-spark/bin/python portability/spark_check.py \
        --warehouse data/warehouse.duckdb --dates 2026-03-01 --workdir /tmp/leadscore-spark
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT = ROOT / "dbt_project"
#: The published marts (SPEC section 6 and activity_quality_flags).
MARTS = (
    "lead_scores",
    "lead_score_components",
    "lead_score_history",
    "mql_handoffs",
    "account_scores",
    "contact_quality_flags",
    "activity_quality_flags",
    "score_performance",
)
#: Columns whose values are computed in floating point: compared to 6 decimals.
FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")


def dbt_sources() -> list[tuple[str, str]]:
    """(schema, table) of every dbt source: what Spark must hold before a build."""
    found = []
    for path in sorted((DBT_PROJECT / "models").rglob("*.yml")):
        for source in (yaml.safe_load(path.read_text()) or {}).get("sources", []) or []:
            schema = source.get("schema", source["name"])
            found.extend((schema, table["name"]) for table in source.get("tables", []))
    return found


def export_sources(warehouse: Path, out: Path) -> None:
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        for schema, table in dbt_sources():
            con.execute(
                f"copy {schema}.\"{table}\" to '{out / f'{schema}__{table}.parquet'}' "
                "(format parquet)"
            )
    finally:
        con.close()


def spark_session():
    from pyspark.sql import SparkSession

    # The same defaults dbt-spark's session mode gets in this working
    # directory: spark-warehouse/ and a Derby metastore_db/ here.
    return (
        SparkSession.builder.config("spark.sql.session.timeZone", "UTC")
        .enableHiveSupport()
        .getOrCreate()
    )


def load_sources(folder: Path) -> None:
    """Child process: the exported sources become Spark tables of the same names."""
    from pyspark.sql import functions
    from pyspark.sql.types import TimestampNTZType

    spark = spark_session()
    for path in sorted(folder.glob("*.parquet")):
        schema, table = path.stem.split("__", 1)
        spark.sql(f"create database if not exists {schema}")
        frame = spark.read.parquet(str(path))
        for field in frame.schema.fields:
            # DuckDB's timestamps are UTC wall times; Spark's timestamp type is the same
            # instant in a UTC session.
            if isinstance(field.dataType, TimestampNTZType):
                frame = frame.withColumn(field.name, functions.col(field.name).cast("timestamp"))
        frame.write.mode("overwrite").format("parquet").saveAsTable(f"{schema}.{table}")
    spark.stop()


def export_marts(out: Path) -> None:
    """Child process: the marts Spark built, as Parquet for DuckDB to compare."""
    spark = spark_session()
    for mart in MARTS:
        spark.table(f"marts.{mart}").coalesce(1).write.mode("overwrite").parquet(str(out / mart))
    spark.stop()


def run_child(workdir: Path, *args: str) -> None:
    subprocess.run([sys.executable, __file__, *args], cwd=workdir, check=True)


def dbt_build(workdir: Path, score_date: str, unit_tests: bool) -> None:
    dbt = Path(sys.executable).with_name("dbt")
    env = {
        **os.environ,
        "LEADSCORE_DBT_TARGET": "spark",
        "LEADSCORE_SCORE_DATE": score_date,
        "DBT_LOG_PATH": str(workdir / "logs"),
    }
    command = [
        str(dbt),
        "build",
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
        "--target-path",
        str(workdir / "target"),
    ]
    if not unit_tests:
        command += ["--exclude", "test_type:unit"]
    print(f"spark-check: dbt build on Spark for {score_date}", flush=True)
    result = subprocess.run(command, cwd=workdir, env=env)
    if result.returncode != 0:
        raise SystemExit(f"spark-check: dbt build on Spark for {score_date} failed")


def compare(warehouse: Path, spark_out: Path) -> bool:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    # Spark writes instants; read them back as UTC wall times, like the warehouse's.
    con.execute("set TimeZone = 'UTC'")
    same = True
    try:
        print(f"{'mart':<24} {'duckdb rows':>12} {'spark rows':>12} {'differing':>10}")
        for mart in MARTS:
            types = dict(
                con.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = 'marts' and table_name = ?",
                    [mart],
                ).fetchall()
            )
            if not types:
                print(f"{mart:<24} missing from the DuckDB warehouse")
                same = False
                continue

            def select(relation: str, types: dict = types) -> str:
                columns = ", ".join(
                    f'round("{c}", 6) as "{c}"'
                    if t in FLOAT_TYPES
                    else f'cast("{c}" as timestamp) as "{c}"'
                    if t.startswith("TIMESTAMP")
                    else f'"{c}"'
                    for c, t in sorted(types.items())
                )
                return f"select {columns} from {relation}"

            duck = select(f"marts.{mart}")
            spark = select(f"read_parquet('{spark_out / mart}/*.parquet')")
            duck_rows = con.execute(f"select count(*) from ({duck})").fetchone()[0]
            spark_rows = con.execute(f"select count(*) from ({spark})").fetchone()[0]
            differing = con.execute(
                f"select (select count(*) from ({duck} except all {spark})) "
                f"+ (select count(*) from ({spark} except all {duck}))"
            ).fetchone()[0]
            same = same and differing == 0 and duck_rows == spark_rows
            print(f"{mart:<24} {duck_rows:>12} {spark_rows:>12} {differing:>10}")
    finally:
        con.close()
    return same


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, help="the DuckDB warehouse leadscore built")
    parser.add_argument(
        "--dates",
        help="the score dates leadscore ran, comma-separated, in the order it ran them",
    )
    parser.add_argument("--workdir", type=Path, help="Spark's metastore and tables (emptied)")
    parser.add_argument("--load-sources", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--export-marts", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_sources:
        load_sources(args.load_sources)
        return 0
    if args.export_marts:
        export_marts(args.export_marts)
        return 0
    if not args.warehouse or not args.dates:
        parser.error("--warehouse and --dates are required")
    warehouse = args.warehouse.resolve()
    if not warehouse.is_file():
        parser.error(f"no DuckDB warehouse at {warehouse}")
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="leadscore-spark-"))).resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    dates = [d.strip() for d in args.dates.split(",") if d.strip()]

    export_sources(warehouse, workdir / "sources")
    run_child(workdir, "--load-sources", str(workdir / "sources"))
    for index, score_date in enumerate(dates):
        # The unit tests once: they do not depend on the date.
        dbt_build(workdir, score_date, unit_tests=index == 0)
    run_child(workdir, "--export-marts", str(workdir / "spark_out"))
    if compare(warehouse, workdir / "spark_out"):
        print(f"spark-check: every mart matches DuckDB's after {', '.join(dates)}")
        return 0
    print("spark-check: Spark's marts differ from DuckDB's (see above)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
