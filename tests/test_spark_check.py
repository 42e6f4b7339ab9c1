"""portability/spark_check.py: which tables it copies to Spark and how it compares.

The Spark build itself runs in `make spark-check` (it needs dbt-spark, PySpark
and Java); these tests pin the parts that decide its verdict.
"""

import importlib.util
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_module():
    spec = importlib.util.spec_from_file_location(
        "spark_check", ROOT / "portability" / "spark_check.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


spark_check = load_module()


def test_every_dbt_source_is_copied_to_spark():
    assert sorted(spark_check.dbt_sources()) == [
        ("quality", "email_checks"),
        ("raw", "crm_accounts"),
        ("raw", "crm_contacts"),
        ("raw", "crm_opportunities"),
        ("raw", "marketing_activities"),
        ("reference", "disposable_email_domains"),
        ("reference", "free_email_domains"),
        ("reference", "iso_3166_1_countries"),
    ]


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setattr(spark_check, "MARTS", ("lead_scores",))
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute(
        "create table marts.lead_scores as select * from (values "
        "('C1', 'm', 10.25::decimal(18, 2), 0.1::double + 0.2::double, "
        "timestamp '2026-03-01 00:00:00'), "
        "('C2', 'm', 3.00::decimal(18, 2), 1.0::double, timestamp '2026-03-01 00:00:00')) "
        "as t(contact_id, model_id, score, ratio, flagged_at)"
    )
    con.close()
    return path


def spark_output(tmp_path: Path, rows_sql: str) -> Path:
    """What Spark would write: Parquet files under <out>/<mart>/, columns in another order."""
    out = tmp_path / "spark_out"
    (out / "lead_scores").mkdir(parents=True)
    duckdb.sql(
        f"copy (select * from (values {rows_sql}) "
        "as t(flagged_at, ratio, score, model_id, contact_id)) "
        f"to '{out / 'lead_scores' / 'part-0.parquet'}' (format parquet)"
    )
    return out


def test_same_rows_in_another_column_order_match(warehouse: Path, tmp_path: Path, capsys):
    out = spark_output(
        tmp_path,
        "(timestamptz '2026-03-01 00:00:00+00', 0.3::double, "
        "10.25::decimal(18, 2), 'm', 'C1'), "
        "(timestamptz '2026-03-01 00:00:00+00', 1.0, 3.00::decimal(18, 2), 'm', 'C2')",
    )
    assert spark_check.compare(warehouse, out) is True
    assert "lead_scores" in capsys.readouterr().out


@pytest.mark.parametrize(
    "rows_sql",
    [
        pytest.param(
            "(timestamp '2026-03-01 00:00:00', 0.3, 10.26::decimal(18, 2), 'm', 'C1'), "
            "(timestamp '2026-03-01 00:00:00', 1.0, 3.00::decimal(18, 2), 'm', 'C2')",
            id="a score differs",
        ),
        pytest.param(
            "(timestamp '2026-03-01 00:00:00', 0.3, 10.25::decimal(18, 2), 'm', 'C1')",
            id="a row is missing",
        ),
        pytest.param(
            "(timestamp '2026-03-01 00:00:00', 0.3, 10.25::decimal(18, 2), 'm', 'C1'), "
            "(timestamp '2026-03-01 00:00:00', 0.3, 10.25::decimal(18, 2), 'm', 'C1'), "
            "(timestamp '2026-03-01 00:00:00', 1.0, 3.00::decimal(18, 2), 'm', 'C2')",
            id="a row is doubled",
        ),
    ],
)
def test_any_difference_fails_the_check(warehouse: Path, tmp_path: Path, rows_sql: str):
    assert spark_check.compare(warehouse, spark_output(tmp_path, rows_sql)) is False
