"""The quality gate (SPEC section 5): email syntax checks and the batch checks.

Two jobs live here, both feeding the dbt quality models:

* `quality/email_checks` validates the syntax of every distinct normalized
  contact email once (email-validator, offline) and keeps the answers in the
  incremental cache table `quality.email_checks`; dbt turns them into
  contact flags (models/intermediate/quality).
* The batch suites in `expectations/<entity>.json` (Great Expectations 1.x
  format, loaded with GX's `ExpectationSuite`) run as blocking Dagster asset
  checks on the raw tables. Each expectation is translated into DuckDB SQL,
  so a check over 30M activities is a few set-based queries, never a pandas
  frame; `expectations/README.md` explains why and lists every check.
  Failing rows go to `audit.check_failures`; row counts to
  `audit.batch_history`.

`python -m orchestration.quality --measure` generates the demo data and
reports the precision and recall of every flag against the generator's truth.
"""

import argparse
import dataclasses
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import email_validator
import pyarrow as pa
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset_check,
)
from email_validator import EmailNotValidError, validate_email
from publicsuffixlist import PublicSuffixList

from orchestration.dbt_runner import dbt_command
from orchestration.partitions import score_date_partitions
from orchestration.resources import LeadscoreResource, connect
from orchestration.settings import EXPECTATIONS_DIR, Settings

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite
    from great_expectations.expectations import Expectation

#: The raw entities that have a suite, in load order.
ENTITIES = ("crm_accounts", "crm_contacts", "crm_opportunities", "marketing_activities")
RAW_KEYS = {entity: AssetKey(["raw", entity]) for entity in ENTITIES}
EMAIL_CHECKS_KEY = AssetKey(["quality", "email_checks"])

#: The full failing-row sets of the latest run of every check.
CHECK_FAILURES_TABLE = "audit.check_failures"
#: Row counts at every check run; the volume check compares with the last passed one.
BATCH_HISTORY_TABLE = "audit.batch_history"
#: How many failing ids a check puts in its Dagster metadata (all are in the audit table).
METADATA_SAMPLE = 20

Log = Callable[[str], None]


def _quiet(_: str) -> None:
    """A log function that drops messages (outside Dagster, when nobody listens)."""


# ---------------------------------------------------------------------------
# Email syntax (the only per-row Python: the validator is a Python library)

#: Re-check every cached email when the validator changes.
VALIDATOR_VERSION = f"email-validator {email_validator.__version__}"
#: Emails validated and written per batch.
EMAIL_BATCH_SIZE = 50_000


@dataclass(frozen=True)
class EmailCheck:
    """The syntax verdict on one normalized email."""

    email_normalized: str
    is_valid_syntax: bool
    invalid_reason: str | None
    email_domain: str | None
    registrable_domain: str | None


@cache
def _public_suffixes() -> PublicSuffixList:
    # The list ships inside the package: no network, same answer every run.
    return PublicSuffixList()


def _special_use_suffix(domain: str) -> str | None:
    """The IANA special-use name (test, invalid, localhost ...) the domain is or ends in."""
    for name in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        if domain == name or domain.endswith("." + name):
            return name
    return None


def check_email(email_normalized: str) -> EmailCheck:
    """Validate one trimmed, lower-cased email's syntax (RFC 5322/6531, no DNS).

    A reserved domain (x.test, y.invalid, localhost) is not a syntax error
    here: the address is judged with that name swapped for example.com, and
    the test_or_fake rules (seed quality_test_domains) report the domain.
    Otherwise jane@x.test would be flagged both invalid_email and
    test_or_fake for one problem.
    """
    local, at, domain = email_normalized.rpartition("@")
    email_domain = domain if at and domain else None
    probe = email_normalized
    if email_domain:
        reserved = _special_use_suffix(email_domain)
        if reserved is not None:
            stem = email_domain[: -len(reserved)].rstrip(".")
            probe = f"{local}@{stem + '.' if stem else ''}example.com"
    try:
        validate_email(probe, check_deliverability=False)
        is_valid, reason = True, None
    except EmailNotValidError as exc:
        is_valid, reason = False, str(exc)
    registrable = _public_suffixes().privatesuffix(email_domain) if email_domain else None
    return EmailCheck(email_normalized, is_valid, reason, email_domain, registrable)


def ensure_email_checks_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create quality.email_checks (the cache dbt reads as source quality.email_checks)."""
    con.execute("create schema if not exists quality")
    con.execute(
        """
        create table if not exists quality.email_checks (
            email_normalized varchar not null,
            is_valid_syntax boolean not null,
            invalid_reason varchar,
            email_domain varchar,
            registrable_domain varchar,
            validator_version varchar not null,
            checked_at timestamp not null
        )
        """
    )


@dataclass(frozen=True)
class EmailCheckSummary:
    """What one run of the email checks did."""

    checked: int
    invalid: int
    rechecked_for_new_validator: int
    cached: int


def update_email_checks(con: duckdb.DuckDBPyConnection, log: Log = _quiet) -> EmailCheckSummary:
    """Validate the distinct normalized emails of raw.crm_contacts not checked yet.

    The normalization is the staging model's (`nullif(lower(trim(email)), '')`),
    so every contact's email_normalized finds its row. Results are written in
    batches through Arrow, never row by row.
    """
    ensure_email_checks_table(con)
    stale = con.execute(
        "select count(*) from quality.email_checks where validator_version <> ?",
        [VALIDATOR_VERSION],
    ).fetchone()[0]
    if stale:
        log(f"email checks: {stale} cached result(s) from another validator version re-checked")
        con.execute(
            "delete from quality.email_checks where validator_version <> ?", [VALIDATOR_VERSION]
        )
    pending = [
        row[0]
        for row in con.execute(
            """
            with emails as (
                select distinct nullif(lower(trim(email)), '') as email_normalized
                from raw.crm_contacts
            )
            select e.email_normalized
            from emails as e
            anti join quality.email_checks as q on q.email_normalized = e.email_normalized
            where e.email_normalized is not null
            order by e.email_normalized
            """
        ).fetchall()
    ]
    invalid = 0
    for start in range(0, len(pending), EMAIL_BATCH_SIZE):
        checks = [check_email(email) for email in pending[start : start + EMAIL_BATCH_SIZE]]
        invalid += sum(not c.is_valid_syntax for c in checks)
        batch = pa.table(
            {
                "email_normalized": pa.array([c.email_normalized for c in checks], pa.string()),
                "is_valid_syntax": pa.array([c.is_valid_syntax for c in checks], pa.bool_()),
                "invalid_reason": pa.array([c.invalid_reason for c in checks], pa.string()),
                "email_domain": pa.array([c.email_domain for c in checks], pa.string()),
                "registrable_domain": pa.array([c.registrable_domain for c in checks], pa.string()),
            }
        )
        con.register("email_check_batch", batch)
        try:
            con.execute(
                """
                insert into quality.email_checks
                select email_normalized, is_valid_syntax, invalid_reason, email_domain,
                       registrable_domain, ? as validator_version,
                       cast(now() as timestamp) as checked_at
                from email_check_batch
                """,
                [VALIDATOR_VERSION],
            )
        finally:
            con.unregister("email_check_batch")
        log(f"email checks: {min(start + EMAIL_BATCH_SIZE, len(pending))}/{len(pending)} checked")
    cached = con.execute("select count(*) from quality.email_checks").fetchone()[0]
    return EmailCheckSummary(len(pending), invalid, stale, cached)


def check_emails(settings: Settings, log: Log = _quiet) -> EmailCheckSummary:
    """`update_email_checks` on the settings' warehouse (scripts and tests, outside Dagster)."""
    con = connect(settings.warehouse_path)
    try:
        return update_email_checks(con, log)
    finally:
        con.close()


# ---------------------------------------------------------------------------
# Batch suites: loading


class SuiteError(Exception):
    """A suite file that the gate cannot run (unknown type, parameter or threshold)."""


#: The expectation types the DuckDB translation implements. Any other type in
#: a suite file is an error at load time, never silently skipped.
SUPPORTED_TYPES = frozenset(
    {
        "expect_table_columns_to_match_set",
        "expect_table_row_count_to_be_between",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_unique",
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
    }
)


def suite_path(entity: str, expectations_dir: Path = EXPECTATIONS_DIR) -> Path:
    return expectations_dir / f"{entity}.json"


def read_suite_json(entity: str, expectations_dir: Path = EXPECTATIONS_DIR) -> dict[str, Any]:
    """The suite file as plain JSON (cheap: used to declare the Dagster check specs).

    Checks the parts the gate itself relies on; GX validates the rest when the
    suite is loaded with `load_suite` at run time.
    """
    path = suite_path(entity, expectations_dir)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SuiteError(f"{path}: cannot read the suite: {exc}") from exc
    names: set[str] = set()
    for index, expectation in enumerate(doc.get("expectations", [])):
        where = f"{path}: expectation {index} ({expectation.get('type')})"
        if expectation.get("type") not in SUPPORTED_TYPES:
            raise SuiteError(
                f"{where}: type not supported by the DuckDB translation; "
                f"supported: {sorted(SUPPORTED_TYPES)}"
            )
        name = (expectation.get("meta") or {}).get("check_name")
        if not name or not name.isidentifier():
            raise SuiteError(f"{where}: meta.check_name must be a Python identifier, got {name!r}")
        if name in names:
            raise SuiteError(f"{where}: meta.check_name {name!r} is used twice")
        names.add(name)
    if not names:
        raise SuiteError(f"{path}: the suite has no expectations")
    return doc


def load_suite(entity: str, expectations_dir: Path = EXPECTATIONS_DIR) -> "ExpectationSuite":
    """The suite as GX objects: GX validates every type and keyword argument."""
    # Imported here: great_expectations takes seconds to import, and only the
    # check steps (not every load of the code location) need it.
    from great_expectations.core import ExpectationSuite

    doc = read_suite_json(entity, expectations_dir)
    try:
        return ExpectationSuite(
            name=doc["name"], expectations=doc["expectations"], meta=doc.get("meta")
        )
    except Exception as exc:  # GX raises pydantic and GX errors alike; name the file
        raise SuiteError(f"{suite_path(entity, expectations_dir)}: {exc}") from exc


# ---------------------------------------------------------------------------
# Batch suites: thresholds and parameters


def threshold(expectation: "Expectation", environ: Mapping[str, str] | None = None) -> float | None:
    """The expectation's configurable threshold: its env var if set, else the default.

    `meta.threshold = {name, env, default}`; for name `mostly` the default is
    the expectation's own `mostly`.
    """
    spec = (expectation.meta or {}).get("threshold")
    if spec is None:
        return None
    environ = os.environ if environ is None else environ
    default = expectation.mostly if spec["name"] == "mostly" else spec.get("default")
    raw = environ.get(spec["env"], "").strip()
    try:
        value = float(raw) if raw else float(default)
    except ValueError:
        raise SuiteError(
            f"{spec['env']}={raw!r} is not a number ({spec['name']} of check "
            f"{expectation.meta['check_name']})"
        ) from None
    if spec["name"] in ("mostly", "min_ratio_of_previous") and not 0 <= value <= 1:
        raise SuiteError(f"{spec['env']}={value} must be between 0 and 1")
    if value < 0:
        raise SuiteError(f"{spec['env']}={value} must not be negative")
    return value


def _parameter_name(value: Any) -> str | None:
    if isinstance(value, Mapping) and "$PARAMETER" in value:
        return str(value["$PARAMETER"])
    return None


@dataclass
class CheckOutcome:
    """The result of one expectation on one raw table, ready for Dagster."""

    entity: str
    check_name: str
    expectation_type: str
    description: str
    severity: str
    success: bool
    column: str | None = None
    element_count: int | None = None
    missing_count: int | None = None
    unexpected_count: int | None = None
    failing_sample: list[dict[str, Any]] = field(default_factory=list)
    observed: dict[str, Any] = field(default_factory=dict)

    @property
    def is_blocking(self) -> bool:
        return self.severity == "critical"

    @property
    def unexpected_percent(self) -> float | None:
        if self.unexpected_count is None or self.element_count is None:
            return None
        considered = self.element_count - (self.missing_count or 0)
        return 0.0 if considered == 0 else round(100.0 * self.unexpected_count / considered, 4)

    def summary(self) -> str:
        state = "passed" if self.success else "FAILED"
        text = f"{self.entity}.{self.check_name} {state}"
        if self.unexpected_count:
            text += f": {self.unexpected_count} failing row(s)"
            if self.unexpected_percent is not None:
                text += f" ({self.unexpected_percent}%)"
        if not self.success and self.expectation_type == "expect_table_row_count_to_be_between":
            text += (
                f": {self.observed['row_count']} rows, at least {self.observed['min_row_count']} "
                f"expected (previous: {self.observed['previous_row_count']})"
            )
        return text


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_literal(value: Any) -> str:
    if isinstance(value, datetime):
        return f"cast('{value.isoformat(sep=' ')}' as timestamp)"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


# ---------------------------------------------------------------------------
# Batch suites: running in DuckDB


def ensure_audit_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create audit.check_failures and audit.batch_history."""
    con.execute("create schema if not exists audit")
    con.execute(
        f"""
        create table if not exists {CHECK_FAILURES_TABLE} (
            run_id varchar not null,
            entity varchar not null,
            check_name varchar not null,
            expectation_type varchar not null,
            record_id varchar,
            column_name varchar,
            value varchar,
            source_file varchar,
            source_row bigint,
            detected_at timestamp not null
        )
        """
    )
    con.execute(
        f"""
        create table if not exists {BATCH_HISTORY_TABLE} (
            run_id varchar not null,
            entity varchar not null,
            row_count bigint not null,
            latest_loaded_at timestamp,
            passed boolean not null,
            checked_at timestamp not null
        )
        """
    )


class _SuiteRun:
    """Runs one suite against one raw table on an open connection."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        entity: str,
        suite: "ExpectationSuite",
        run_id: str,
        now: datetime,
        environ: Mapping[str, str],
    ) -> None:
        self.con = con
        self.entity = entity
        self.suite = suite
        self.run_id = run_id
        self.now = now
        self.environ = environ
        meta = suite.meta or {}
        self.table = meta.get("table", f"raw.{entity}")
        self.id_column = meta["id_column"]
        schema, name = self.table.split(".")
        self.columns = {
            row[0]
            for row in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ?",
                [schema, name],
            ).fetchall()
        }
        if not self.columns:
            raise SuiteError(f"{self.table} does not exist; load the landing files first")
        self.row_count = con.execute(f"select count(*) from {self.table}").fetchone()[0]

    # -- helpers ------------------------------------------------------------

    def _locator(self) -> str:
        """SQL for (record_id, source_file, source_row) of a row of the table."""
        record_id = (
            f"cast(t.{_quote(self.id_column)} as varchar)"
            if self.id_column in self.columns
            else "cast(null as varchar)"
        )
        source_file = "t._source_file" if "_source_file" in self.columns else "null"
        source_row = "t._source_row" if "_source_row" in self.columns else "null"
        return f"{record_id} as record_id, {source_file} as source_file, {source_row} as source_row"

    def _record_failures(
        self, expectation: "Expectation", column: str | None, rows_sql: str
    ) -> int:
        """Replace this check's rows in audit.check_failures; return how many failed."""
        name = expectation.meta["check_name"]
        self.con.execute(
            f"delete from {CHECK_FAILURES_TABLE} where entity = ? and check_name = ?",
            [self.entity, name],
        )
        self.con.execute(
            f"""
            insert into {CHECK_FAILURES_TABLE}
            select ?, ?, ?, ?, record_id, ?, value, source_file, source_row,
                   cast(now() as timestamp)
            from ({rows_sql}) as failing
            """,
            [self.run_id, self.entity, name, expectation.expectation_type, column],
        )
        return self.con.execute(
            f"select count(*) from {CHECK_FAILURES_TABLE} where entity = ? and check_name = ?",
            [self.entity, name],
        ).fetchone()[0]

    def _sample(self, check_name: str) -> list[dict[str, Any]]:
        cursor = self.con.execute(
            f"""
            select record_id, column_name, value, source_file, source_row
            from {CHECK_FAILURES_TABLE}
            where entity = ? and check_name = ?
            order by source_file nulls last, source_row nulls last, record_id
            limit {METADATA_SAMPLE}
            """,
            [self.entity, check_name],
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def _outcome(self, expectation: "Expectation", success: bool, **kwargs: Any) -> CheckOutcome:
        severity = getattr(expectation.severity, "value", str(expectation.severity)).lower()
        return CheckOutcome(
            entity=self.entity,
            check_name=expectation.meta["check_name"],
            expectation_type=expectation.expectation_type,
            description=expectation.description or "",
            severity=severity,
            success=success,
            **kwargs,
        )

    def _missing_column(self, expectation: "Expectation", column: str) -> CheckOutcome:
        rows_sql = (
            "select cast(null as varchar) as record_id, 'column missing' as value, "
            "cast(null as varchar) as source_file, cast(null as bigint) as source_row"
        )
        count = self._record_failures(expectation, column, rows_sql)
        return self._outcome(
            expectation,
            False,
            column=column,
            unexpected_count=count,
            failing_sample=self._sample(expectation.meta["check_name"]),
            observed={"missing_column": column},
        )

    def _column_map(
        self,
        expectation: "Expectation",
        column: str,
        unexpected_condition: str,
        extra_observed: dict[str, Any] | None = None,
        from_sql: str | None = None,
    ) -> CheckOutcome:
        """A per-row expectation: unexpected rows among the non-null values, with `mostly`."""
        if column not in self.columns:
            return self._missing_column(expectation, column)
        name = expectation.meta["check_name"]
        q = f"t.{_quote(column)}"
        source = from_sql or f"{self.table} as t"
        rows_sql = (
            f"select {self._locator()}, cast({q} as varchar) as value "
            f"from {source} where {unexpected_condition}"
        )
        unexpected = self._record_failures(expectation, column, rows_sql)
        element_count, missing = self.con.execute(
            f"select count(*), count(*) filter (where {q} is null) from {self.table} as t"
        ).fetchone()
        spec = (expectation.meta or {}).get("threshold") or {}
        mostly = (
            threshold(expectation, self.environ)
            if spec.get("name") == "mostly"
            else float(getattr(expectation, "mostly", None) or 1.0)
        )
        considered = element_count - missing
        if expectation.expectation_type == "expect_column_values_to_not_be_null":
            considered = element_count  # the nulls are what is judged
        success = considered == 0 or (considered - unexpected) / considered >= mostly
        observed = {"mostly": mostly, **(extra_observed or {})}
        if considered:
            observed["success_rate"] = round((considered - unexpected) / considered, 6)
        top = self.con.execute(
            f"""
            select value, count(*) as n from {CHECK_FAILURES_TABLE}
            where entity = ? and check_name = ? group by value order by n desc, value limit 20
            """,
            [self.entity, name],
        ).fetchall()
        if unexpected and expectation.expectation_type != "expect_column_values_to_not_be_null":
            observed["top_unexpected_values"] = {str(v): n for v, n in top}
        return self._outcome(
            expectation,
            success,
            column=column,
            element_count=element_count,
            missing_count=0
            if expectation.expectation_type == "expect_column_values_to_not_be_null"
            else missing,
            unexpected_count=unexpected,
            failing_sample=self._sample(name),
            observed=observed,
        )

    # -- parameters ---------------------------------------------------------

    def _resolve(self, expectation: "Expectation", value: Any) -> Any:
        """Bind a `{"$PARAMETER": name}` kwarg; literals pass through."""
        name = _parameter_name(value)
        if name is None:
            return value
        if name == "max_allowed_timestamp":
            skew = threshold(expectation, self.environ)
            if skew is None:
                raise SuiteError(
                    f"{self.entity}.{expectation.meta['check_name']}: max_allowed_timestamp "
                    "needs meta.threshold max_future_skew_minutes"
                )
            return self.now + timedelta(minutes=skew)
        if name == "min_row_count":
            ratio = threshold(expectation, self.environ)
            if ratio is None:
                raise SuiteError(
                    f"{self.entity}.{expectation.meta['check_name']}: min_row_count needs "
                    "meta.threshold min_ratio_of_previous"
                )
            previous = self.previous_row_count()
            return 0 if previous is None else math.ceil(previous[0] * ratio)
        raise SuiteError(
            f"{self.entity}.{expectation.meta['check_name']}: unknown suite parameter {name!r}"
        )

    def previous_row_count(self) -> tuple[int, datetime] | None:
        """The row count at the last passed check of this entity in another run."""
        row = self.con.execute(
            f"""
            select row_count, checked_at from {BATCH_HISTORY_TABLE}
            where entity = ? and passed and run_id <> ?
            order by checked_at desc limit 1
            """,
            [self.entity, self.run_id],
        ).fetchone()
        return None if row is None else (int(row[0]), row[1])

    # -- expectation types --------------------------------------------------

    def run(self, expectation: "Expectation") -> CheckOutcome:
        kind = expectation.expectation_type
        handler = getattr(self, f"_{kind}", None)
        if handler is None:
            raise SuiteError(f"{self.entity}: expectation type {kind} is not supported")
        return handler(expectation)

    def _expect_table_columns_to_match_set(self, expectation: "Expectation") -> CheckOutcome:
        expected = list(expectation.column_set or [])
        missing = [c for c in expected if c not in self.columns]
        present = sorted(c for c in self.columns if not c.startswith("_"))
        extra = [c for c in present if c not in expected] if expectation.exact_match else []
        bad = [(c, "column missing") for c in missing] + [(c, "unexpected column") for c in extra]
        rows_sql = " union all ".join(
            f"select cast(null as varchar) as record_id, {_sql_literal(message)} as value, "
            f"cast(null as varchar) as source_file, cast(null as bigint) as source_row, "
            f"{_sql_literal(column)} as column_name"
            for column, message in bad
        )
        name = expectation.meta["check_name"]
        self.con.execute(
            f"delete from {CHECK_FAILURES_TABLE} where entity = ? and check_name = ?",
            [self.entity, name],
        )
        if rows_sql:
            self.con.execute(
                f"""
                insert into {CHECK_FAILURES_TABLE}
                select ?, ?, ?, ?, record_id, column_name, value, source_file, source_row,
                       cast(now() as timestamp)
                from ({rows_sql}) as failing
                """,
                [self.run_id, self.entity, name, expectation.expectation_type],
            )
        return self._outcome(
            expectation,
            not bad,
            unexpected_count=len(bad),
            failing_sample=self._sample(name),
            observed={
                "observed_columns": present,
                "required_columns": expected,
                "missing_columns": missing,
                **({"unexpected_columns": extra} if expectation.exact_match else {}),
            },
        )

    def _expect_table_row_count_to_be_between(self, expectation: "Expectation") -> CheckOutcome:
        low = self._resolve(expectation, expectation.min_value)
        high = self._resolve(expectation, expectation.max_value)
        success = (low is None or self.row_count >= low) and (
            high is None or self.row_count <= high
        )
        previous = self.previous_row_count()
        name = expectation.meta["check_name"]
        self.con.execute(
            f"delete from {CHECK_FAILURES_TABLE} where entity = ? and check_name = ?",
            [self.entity, name],
        )
        observed: dict[str, Any] = {
            "row_count": self.row_count,
            "min_row_count": low,
            "max_row_count": high,
            "previous_row_count": previous[0] if previous else None,
            "previous_checked_at": previous[1].isoformat() if previous else None,
        }
        if (meta_threshold := threshold(expectation, self.environ)) is not None:
            observed[expectation.meta["threshold"]["name"]] = meta_threshold
        return self._outcome(expectation, success, observed=observed)

    def _expect_column_values_to_not_be_null(self, expectation: "Expectation") -> CheckOutcome:
        column = expectation.column
        return self._column_map(expectation, column, f"t.{_quote(column)} is null")

    def _expect_column_values_to_be_unique(self, expectation: "Expectation") -> CheckOutcome:
        column = expectation.column
        q = _quote(column)
        # As GX counts it: every row of a repeated value is unexpected.
        return self._column_map(
            expectation,
            column,
            f"t.{q} in (select {q} from {self.table} where {q} is not null "
            f"group by {q} having count(*) > 1)",
        )

    def _expect_column_values_to_be_between(self, expectation: "Expectation") -> CheckOutcome:
        column = expectation.column
        q = f"t.{_quote(column)}"
        low = self._resolve(expectation, expectation.min_value)
        high = self._resolve(expectation, expectation.max_value)
        conditions = []
        if low is not None:
            conditions.append(f"{q} {'<=' if expectation.strict_min else '<'} {_sql_literal(low)}")
        if high is not None:
            conditions.append(f"{q} {'>=' if expectation.strict_max else '>'} {_sql_literal(high)}")
        if not conditions:
            raise SuiteError(f"{self.entity}.{expectation.meta['check_name']}: no bound given")
        observed: dict[str, Any] = {
            "min_value": str(low) if low is not None else None,
            "max_value": str(high) if high is not None else None,
        }
        if (skew := threshold(expectation, self.environ)) is not None:
            observed[expectation.meta["threshold"]["name"]] = skew
        return self._column_map(
            expectation,
            column,
            f"{q} is not null and ({' or '.join(conditions)})",
            extra_observed=observed,
        )

    def _expect_column_values_to_be_in_set(self, expectation: "Expectation") -> CheckOutcome:
        column = expectation.column
        q = f"t.{_quote(column)}"
        meta = expectation.meta or {}
        value = q
        if meta.get("normalize") == "lower_trim":
            value = f"lower(trim(cast({q} as varchar)))"
        elif meta.get("normalize") is not None:
            raise SuiteError(f"{self.entity}: unknown meta.normalize {meta['normalize']!r}")
        param = _parameter_name(expectation.value_set)
        if param is None:
            values = ", ".join(_sql_literal(v) for v in expectation.value_set)
            return self._column_map(
                expectation,
                column,
                f"{q} is not null and {value} not in ({values})",
                extra_observed={"value_set_size": len(expectation.value_set)},
            )
        reference = meta.get("reference")
        if not reference:
            raise SuiteError(
                f"{self.entity}.{meta.get('check_name')}: value_set parameter {param!r} needs "
                "meta.reference {table, column}"
            )
        ref_table, ref_column = reference["table"], _quote(reference["column"])
        # An anti join: scales to 30M activities against millions of contacts.
        from_sql = f"{self.table} as t anti join {ref_table} as r on r.{ref_column} = {value}"
        return self._column_map(
            expectation,
            column,
            f"{q} is not null",
            extra_observed={"reference": f"{ref_table}.{reference['column']}"},
            from_sql=from_sql,
        )


def run_suite(
    con: duckdb.DuckDBPyConnection,
    entity: str,
    suite: "ExpectationSuite | None" = None,
    *,
    run_id: str,
    now: datetime | None = None,
    selected: set[str] | None = None,
    environ: Mapping[str, str] | None = None,
    log: Log = _quiet,
) -> list[CheckOutcome]:
    """Run an entity's suite (or the `selected` check names of it) in DuckDB.

    Writes the failing rows of every check run to audit.check_failures
    (replacing that check's previous rows) and, when the volume check ran,
    the table's row count to audit.batch_history (passed = no critical
    expectation failed), so the next run compares with it.
    """
    suite = suite if suite is not None else load_suite(entity)
    now = now or datetime.now(UTC).replace(tzinfo=None)
    ensure_audit_tables(con)
    runner = _SuiteRun(con, entity, suite, run_id, now, os.environ if environ is None else environ)
    outcomes = []
    for expectation in suite.expectations:
        if selected is not None and expectation.meta["check_name"] not in selected:
            continue
        outcome = runner.run(expectation)
        log(outcome.summary())
        outcomes.append(outcome)
    if any(o.expectation_type == "expect_table_row_count_to_be_between" for o in outcomes):
        latest = (
            con.execute(f"select max(_loaded_at) from {runner.table}").fetchone()[0]
            if "_loaded_at" in runner.columns
            else None
        )
        con.execute(
            f"insert into {BATCH_HISTORY_TABLE} values (?, ?, ?, ?, ?, cast(now() as timestamp))",
            [
                run_id,
                entity,
                runner.row_count,
                latest,
                all(o.success for o in outcomes if o.is_blocking),
            ],
        )
    return outcomes


# ---------------------------------------------------------------------------
# Dagster definitions


@asset(
    key=EMAIL_CHECKS_KEY,
    deps=[RAW_KEYS["crm_contacts"]],
    group_name="quality",
    partitions_def=score_date_partitions,
    kinds={"duckdb", "python"},
    description="`quality.email_checks`: the syntax verdict (email-validator, no DNS), domain "
    "and registrable domain (Public Suffix List) of every distinct normalized contact "
    "email. Incremental: only emails not checked before (by this validator version) are "
    "validated.",
)
def email_checks(context: AssetExecutionContext, leadscore: LeadscoreResource) -> MaterializeResult:
    with leadscore.warehouse() as con:
        summary = update_email_checks(con, log=context.log.info)
    context.log.info(
        f"email checks: {summary.checked} new email(s) validated, {summary.invalid} invalid; "
        f"{summary.cached} in the cache"
    )
    return MaterializeResult(
        metadata={
            "emails_checked": summary.checked,
            "emails_invalid": summary.invalid,
            "rechecked_for_new_validator": summary.rechecked_for_new_validator,
            "dagster/row_count": summary.cached,
            "validator": VALIDATOR_VERSION,
        }
    )


def _check_metadata(outcome: CheckOutcome) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "expectation_type": outcome.expectation_type,
        "gx_severity": outcome.severity,
    }
    if outcome.column is not None:
        metadata["column"] = outcome.column
    for key in ("element_count", "missing_count", "unexpected_count", "unexpected_percent"):
        value = getattr(outcome, key)
        if value is not None:
            metadata[key] = value
    if outcome.failing_sample:
        metadata["failing_ids"] = MetadataValue.json(
            [
                row["record_id"]
                if row["record_id"] is not None
                else f"{row['source_file']}:{row['source_row']}"
                for row in outcome.failing_sample
            ]
        )
        metadata["failing_rows_sample"] = MetadataValue.json(
            [{k: v for k, v in row.items() if v is not None} for row in outcome.failing_sample]
        )
    if outcome.unexpected_count:
        metadata["all_failing_rows"] = MetadataValue.text(
            f"select * from {CHECK_FAILURES_TABLE} where entity = '{outcome.entity}' "
            f"and check_name = '{outcome.check_name}'"
        )
    for key, value in outcome.observed.items():
        metadata[key] = MetadataValue.json(value) if isinstance(value, dict | list) else value
    return {k: v for k, v in metadata.items() if v is not None}


def check_result(outcome: CheckOutcome) -> AssetCheckResult:
    """The Dagster result of one expectation: critical failures block, the others warn."""
    return AssetCheckResult(
        asset_key=RAW_KEYS[outcome.entity],
        check_name=outcome.check_name,
        passed=outcome.success,
        severity=AssetCheckSeverity.ERROR if outcome.is_blocking else AssetCheckSeverity.WARN,
        metadata=_check_metadata(outcome),
        description=outcome.summary(),
    )


def _suite_checks(entity: str) -> AssetChecksDefinition:
    doc = read_suite_json(entity)
    specs = []
    for expectation in doc["expectations"]:
        meta = expectation.get("meta") or {}
        reference = meta.get("reference")
        specs.append(
            AssetCheckSpec(
                name=meta["check_name"],
                asset=RAW_KEYS[entity],
                description=expectation.get("description"),
                blocking=True,
                additional_deps=[AssetKey(reference["asset_key"])] if reference else None,
                metadata={
                    "suite": f"expectations/{entity}.json",
                    "expectation_type": expectation["type"],
                },
            )
        )

    @multi_asset_check(
        specs=specs,
        name=f"gx_{entity}",
        can_subset=True,
        description=f"Runs expectations/{entity}.json against raw.{entity} in DuckDB.",
    )
    def _run_suite(
        context: AssetCheckExecutionContext, leadscore: LeadscoreResource
    ) -> Iterator[AssetCheckResult]:
        selected = {key.name for key in context.selected_asset_check_keys}
        with leadscore.warehouse() as con:
            outcomes = run_suite(
                con, entity, run_id=context.run.run_id, selected=selected, log=context.log.info
            )
        for outcome in outcomes:
            if not outcome.success:
                log = context.log.error if outcome.is_blocking else context.log.warning
                log(f"{outcome.summary()}; sample: {outcome.failing_sample[:5]}")
            yield check_result(outcome)

    return _run_suite


#: The Dagster assets of the gate (the lead adds them to Definitions).
quality_assets: list = [email_checks]
#: One multi-check per raw entity; every expectation is its own blocking check.
quality_checks: list = [_suite_checks(entity) for entity in ENTITIES]


# ---------------------------------------------------------------------------
# Measuring the flags against the demo generator's planted truth


@dataclass(frozen=True)
class FlagQuality:
    """Precision and recall of one flag against the planted truth."""

    kind: str
    entity: str
    planted: int
    flagged: int
    true_positives: int

    @property
    def precision(self) -> float:
        return 1.0 if self.flagged == 0 else self.true_positives / self.flagged

    @property
    def recall(self) -> float:
        return 1.0 if self.planted == 0 else self.true_positives / self.planted


def measure_flag_quality(settings: Settings, truth_path: Path) -> list[FlagQuality]:
    """Compare the built flags with the generator's truth file, kind by kind.

    Needs a warehouse where the quality models were built and the batch suites
    ran: contact flags from int_quality__contact_flags, bot_activity from
    int_quality__activity_flags, orphan_activity and unknown_activity_type from
    the failing rows of the activity suite in audit.check_failures.
    """
    con = connect(settings.warehouse_path, read_only=True)
    try:
        con.execute(
            f"create temp view truth as select entity, cast(id as varchar) as id, kind "
            f"from read_parquet({_sql_literal(str(truth_path))})"
        )
        con.execute(
            f"""
            create temp view predicted as
            select 'contact' as entity, contact_id as id, flag as kind
            from intermediate.int_quality__contact_flags
            union all
            select distinct 'activity', activity_id, flag
            from intermediate.int_quality__activity_flags
            union all
            select distinct 'activity', record_id,
                case check_name
                    when 'contact_id_references_contacts' then 'orphan_activity'
                    else 'unknown_activity_type'
                end
            from {CHECK_FAILURES_TABLE}
            where entity = 'marketing_activities'
              and check_name in ('contact_id_references_contacts', 'activity_type_in_vocabulary')
            """
        )
        rows = con.execute(
            """
            with kinds as (
                select distinct entity, kind from truth
                union select distinct entity, kind from predicted
            )
            select
                k.kind,
                k.entity,
                (select count(distinct id) from truth as t
                 where t.kind = k.kind and t.entity = k.entity) as planted,
                (select count(distinct id) from predicted as p
                 where p.kind = k.kind and p.entity = k.entity) as flagged,
                (select count(distinct p.id) from predicted as p
                 join truth as t on t.id = p.id and t.kind = p.kind and t.entity = p.entity
                 where p.kind = k.kind and p.entity = k.entity) as true_positives
            from kinds as k
            order by k.entity desc, k.kind
            """
        ).fetchall()
    finally:
        con.close()
    return [FlagQuality(*row) for row in rows]


def format_flag_quality(results: Sequence[FlagQuality]) -> str:
    """A Markdown table of the measurement."""
    lines = [
        "| kind | entity | planted | flagged | true positives | precision | recall |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.kind} | {r.entity} | {r.planted} | {r.flagged} | {r.true_positives} "
            f"| {r.precision:.3f} | {r.recall:.3f} |"
        )
    return "\n".join(lines)


def build_quality(settings: Settings, log: Log = print) -> None:
    """Everything the flags need, outside Dagster: load, reference lists, email checks,
    batch suites, and dbt build of the quality models (with their upstream)."""
    from orchestration.ingest import load_landing
    from orchestration.reference import load_reference_lists

    load_landing(settings, log=log)
    con = connect(settings.warehouse_path)
    try:
        load_reference_lists(con)
        update_email_checks(con, log=log)
        for entity in ENTITIES:
            for outcome in run_suite(
                con, entity, run_id=f"build_quality-{datetime.now(UTC):%Y%m%dT%H%M%S%f}"
            ):
                if not outcome.success:
                    log(outcome.summary())
    finally:
        con.close()
    dbt_command(
        settings, "build", "--select", "+contact_quality_flags", "+int_quality__activity_flags"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orchestration.quality",
        description="Measure the precision and recall of the quality flags on demo data.",
    )
    parser.add_argument("--measure", action="store_true", help="generate, build and measure")
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--end-date",
        type=date.fromisoformat,
        default=datetime.now(UTC).date() - timedelta(days=1),
        help="last day of demo activity (default: yesterday, UTC, so no timestamp is in the "
        "future when the batch checks run)",
    )
    parser.add_argument("--workdir", type=Path, help="keep the data here (default: a temp dir)")
    args = parser.parse_args(argv)
    if not args.measure:
        parser.print_help()
        return 2
    from orchestration.demo_data import generate

    with tempfile.TemporaryDirectory(prefix="leadscore-measure-") as tmp:
        root = (args.workdir or Path(tmp)).resolve()
        root.mkdir(parents=True, exist_ok=True)
        settings = dataclasses.replace(
            Settings.from_env(),
            landing_dir=root / "landing",
            warehouse_path=root / "warehouse.duckdb",
            publish_path=root / "published" / "published.duckdb",
            export_dir=root / "published" / "parquet",
            audit_dir=root / "audit",
        )
        truth_path = root / "demo_truth" / "planted.parquet"
        generate(
            settings.landing_dir,
            contacts=args.contacts,
            seed=args.seed,
            end_date=args.end_date,
            truth_path=truth_path,
        )
        build_quality(settings, log=lambda message: print(message, file=sys.stderr))
        results = measure_flag_quality(settings, truth_path)
    print(format_flag_quality(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
