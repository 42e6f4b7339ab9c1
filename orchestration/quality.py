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
import hashlib
import importlib.metadata
import json
import math
import multiprocessing
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, TypeVar

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
from orchestration.ingest import ENTITIES as LANDING_ENTITIES
from orchestration.partitions import one_date_per_run, score_date_partitions
from orchestration.reference import iso_3166_1_alpha_2
from orchestration.resources import LeadscoreResource, connect
from orchestration.settings import EXPECTATIONS_DIR, Settings, SettingsError, env_flag

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
#: `meta.batch` of a row-count expectation that judges each delivered landing
#: file instead of the table (see `_SuiteRun._delivered_files_not_collapsed`).
DELIVERED_FILES_BATCH = "delivered_files"
#: Per entity and delivery (the CRM entity's one export, or an activity file
#: name): the landing file version the delivery check last accepted.
ACCEPTED_DELIVERIES_TABLE = "audit.accepted_deliveries"
#: How many failing ids a check puts in its Dagster metadata (all are in the audit table).
METADATA_SAMPLE = 20
#: failing rows named in a check's one-line summary (the CLI's message)
SUMMARY_ROWS = 3
#: a failing value longer than this is shortened in that summary
LABEL_VALUE_CHARS = 80
#: Per check: the raw `_load_id` its failing rows in CHECK_FAILURES_TABLE cover.
CHECK_WATERMARKS_TABLE = "audit.check_watermarks"
#: Per entity and column: the `_load_id` through which a uniqueness check's full
#: scan found every non-null value unique (removed when the check runs again,
#: kept only if that run is a full scan that finds none). The dbt test
#: unique_in_new_loads (argument verified_in) does not group those rows again.
VERIFIED_UNIQUE_TABLE = "audit.verified_unique"
#: Per reference check: the reference keys its last run compared with.
CHECK_REFERENCE_KEYS_TABLE = "audit.check_reference_keys"
#: Bump when the SQL of a row-level check changes: every check then scans in full once.
INCREMENTAL_VERSION = 1
#: "1" forces a full scan of every row-level check (otherwise only new rows are scanned).
FULL_SCAN_ENV = "LEADSCORE_GX_FULL_SCAN"
#: A row-level check scans in full when its last full scan is older than this many days.
FULL_SCAN_EVERY_DAYS_ENV = "LEADSCORE_GX_FULL_SCAN_EVERY_DAYS"
FULL_SCAN_EVERY_DAYS = 7
#: larger values are typos, and would overflow a date computation
MAX_FULL_SCAN_EVERY_DAYS = 36500
#: the largest threshold that is not a ratio (the future skew: a year of minutes)
MAX_THRESHOLD = 525600
#: The quarantine-rate check is a dbt test (it needs the contact flags, built
#: after the gate); dbt reads these when it runs, and falls back to its own
#: defaults (dbt_project/macros/quality/quarantine_rate_settings.sql, which
#: matches the same patterns). Checked here so that a bad value stops a run
#: before any work, like the batch checks' thresholds.
QUARANTINE_SETTINGS = {
    "LEADSCORE_MAX_QUARANTINE_RATE": (
        re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+"),
        1.0,
        "a number from 0 to 1 (the largest share of quarantined contacts)",
    ),
    "LEADSCORE_QUARANTINE_MIN_CONTACTS": (
        re.compile(r"[0-9]+"),
        None,
        "a whole number from 0 (fewer contacts and the quarantine rate is not judged)",
    ),
}

Log = Callable[[str], None]


def _quiet(_: str) -> None:
    """A log function that drops messages (outside Dagster, when nobody listens)."""


# ---------------------------------------------------------------------------
# Email syntax (the only per-row Python: the validator is a Python library)

#: Re-check every cached email when the validator changes, or the Public Suffix
#: List the registrable domains come from (publicsuffixlist's version carries
#: the list's date: a newer list can move a domain, e.g. a new hosting suffix).
VALIDATOR_VERSION = (
    f"email-validator {email_validator.__version__}; "
    f"publicsuffixlist {importlib.metadata.version('publicsuffixlist')}"
)
#: Emails validated per task (in process, or handed to one worker process).
EMAIL_BATCH_SIZE = 20_000
#: Fewer pending emails than this are validated in process: starting worker
#: processes (each imports this module, ~2 s) would cost more than it saves.
EMAIL_PARALLEL_MIN = 20_000
#: Worker processes for the email checks; default: the CPUs this process may use.
EMAIL_WORKERS_ENV = "LEADSCORE_EMAIL_WORKERS"
#: The characters of a dot-atom (RFC 5322 3.2.3) in lower case: email-validator's
#: ATEXT (rfc_constants.ATEXT), upper-case letters left out (emails are lower-cased).
_ATEXT = "a-z0-9_!#$%&'*+/=?^`{|}~-"
#: The plain form of a normalized email (RE2, full match): a dot-atom local part
#: of ASCII characters and one @ before an ASCII host name. Such an address is
#: valid exactly when its domain is (see `plain_domain_check`), it is at most
#: PLAIN_EMAIL_MAX_LENGTH long and its local part at most PLAIN_LOCAL_MAX_LENGTH,
#: so it is judged by its domain, not one by one.
PLAIN_EMAIL_PATTERN = f"[{_ATEXT}]+(\\.[{_ATEXT}]+)*@[a-z0-9.-]+"
#: email-validator's limit on a whole address (rfc_constants.EMAIL_MAX_LENGTH).
PLAIN_EMAIL_MAX_LENGTH = email_validator.rfc_constants.EMAIL_MAX_LENGTH
#: Its limit on the part before the @ (rfc_constants.LOCAL_PART_MAX_LENGTH):
#: checked in strict mode only since email-validator 2.3, always before. A longer
#: local part goes one by one, so the shortcut holds for every version allowed.
PLAIN_LOCAL_MAX_LENGTH = email_validator.rfc_constants.LOCAL_PART_MAX_LENGTH


#: Leading and trailing white space, Unicode's White_Space characters: spaces
#: (also no-break and the other Unicode spaces), tabs, line and paragraph
#: breaks, carriage returns, form feeds (RE2: \s is the ASCII white space,
#: \p{Z} the Unicode spaces and separators). An address is trimmed of it and
#: lower-cased into its normalized form here exactly as dbt's trim_whitespace
#: macro does in staging (stg_crm__contacts.email_normalized): every contact
#: must find its verdict. DuckDB's plain trim() removes the spaces only.
EMAIL_TRIM_PATTERN = r"^[\s\x{0B}\x{85}\p{Z}]+|[\s\x{0B}\x{85}\p{Z}]+$"


def normalized_email_sql(column: str) -> str:
    """DuckDB SQL for an email's normalized form (null when blank)."""
    return f"nullif(lower(regexp_replace({column}, '{EMAIL_TRIM_PATTERN}', '', 'g')), '')"


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


# Emails share few domains (company and free-mail domains), so the per-domain
# answers are cached: pure functions of the domain, bounded caches.
@lru_cache(maxsize=65_536)
def _special_use_suffix(domain: str) -> str | None:
    """The IANA special-use name (test, invalid, localhost ...) the domain is or ends in."""
    for name in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        if domain == name or domain.endswith("." + name):
            return name
    return None


@lru_cache(maxsize=65_536)
def _registrable_domain(domain: str) -> str | None:
    """The registrable domain (public suffix + one label) per the Public Suffix List."""
    return _public_suffixes().privatesuffix(domain)


#: Domains whose syntax verdict a process keeps (see _cache_domain_syntax).
DOMAIN_SYNTAX_CACHE_SIZE = 16_384


@cache
def _cache_domain_syntax() -> bool:
    """Memoize email-validator's domain check in this process; True if installed.

    Two thirds of `validate_email`'s time is `validate_email_domain_name`
    (IDNA/UTS-46 checks of every label), a function of the domain, two flags
    and the library's constants (special-use names, which nothing here
    changes); a CRM repeats a domain across thousands of addresses. The
    library has no hook for it, so the module-level name that
    `validate_email` calls is replaced by an LRU-cached wrapper of the same
    function: every verdict and message stays the library's
    (tests/test_quality.py compares them with the uncached library on edge
    cases). Exceptions are not cached (invalid domains are re-checked, and
    rare). If a future release moves the function, nothing is patched and
    validation is only slower.
    """
    module = sys.modules.get("email_validator.validate_email")
    syntax = sys.modules.get("email_validator.syntax")
    original = getattr(module, "validate_email_domain_name", None)
    if original is None or original is not getattr(syntax, "validate_email_domain_name", None):
        return False
    module.validate_email_domain_name = lru_cache(maxsize=DOMAIN_SYNTAX_CACHE_SIZE)(original)
    return True


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
    _cache_domain_syntax()
    try:
        validate_email(probe, check_deliverability=False)
        is_valid, reason = True, None
    except EmailNotValidError as exc:
        is_valid, reason = False, str(exc)
    registrable = _registrable_domain(email_domain) if email_domain else None
    return EmailCheck(email_normalized, is_valid, reason, email_domain, registrable)


#: One batch of verdicts, column by column (cheap to send back from a worker):
#: is_valid_syntax, invalid_reason, email_domain, registrable_domain.
EmailColumns = tuple[list[bool], list[str | None], list[str | None], list[str | None]]


def check_email_batch(emails: Sequence[str]) -> EmailColumns:
    """`check_email` over a batch, as columns (the task a worker process runs)."""
    checks = [check_email(email) for email in emails]
    return (
        [c.is_valid_syntax for c in checks],
        [c.invalid_reason for c in checks],
        [c.email_domain for c in checks],
        [c.registrable_domain for c in checks],
    )


#: What a batch task returns (EmailColumns, or plain_domain_batch's columns).
_Verdicts = TypeVar("_Verdicts")


def plain_domain_check(domain: str) -> tuple[bool, str | None]:
    """(True if every plain address at `domain` is valid, its registrable domain).

    False: the domain is invalid, or its addresses are left to the one-by-one
    check (below).

    A plain address (PLAIN_EMAIL_PATTERN, at most PLAIN_EMAIL_MAX_LENGTH long,
    its local part at most PLAIN_LOCAL_MAX_LENGTH) passes every check of
    email-validator but the domain's: its local part is a dot-atom of ASCII
    characters (valid, unchanged by normalization, and within the length the
    library checks, in strict mode since 2.3 and always before), and the
    length of the whole address is the one checked. So `check_email` says valid for
    each of them exactly when it says so for `a@domain`, the same domain and
    registrable domain included. Domains for which that reasoning does not
    hold go one by one: a reserved name (check_email swaps it for
    example.com, which changes the length) and an IDNA label (xn--, shown
    decoded, which changes the normalized form's length).
    tests/test_quality.py holds the claim against the library on edge cases
    and random addresses.
    """
    if (
        not domain.isascii()
        or any(label.startswith("xn--") for label in domain.split("."))
        or _special_use_suffix(domain) is not None
    ):
        return False, None
    check = check_email(f"a@{domain}")
    return check.is_valid_syntax, check.registrable_domain


def plain_domain_batch(domains: Sequence[str]) -> tuple[list[bool], list[str | None]]:
    """`plain_domain_check` over a batch, as columns (a worker's task)."""
    checks = [plain_domain_check(domain) for domain in domains]
    return [ok for ok, _ in checks], [registrable for _, registrable in checks]


def email_workers(environ: Mapping[str, str] | None = None) -> int:
    """How many processes validate emails: LEADSCORE_EMAIL_WORKERS, else the usable CPUs."""
    environ = os.environ if environ is None else environ
    raw = environ.get(EMAIL_WORKERS_ENV, "").strip()
    if raw:
        try:
            workers = int(raw)
        except ValueError:
            workers = 0
        if workers < 1:  # 0 or fewer is a typo, not "in process": that is 1
            raise ValueError(f"{EMAIL_WORKERS_ENV}={raw!r}: expected a whole number from 1")
        return workers
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _email_check_batches(
    pending: Sequence[str],
    workers: int,
    task: Callable[[Sequence[str]], _Verdicts] = check_email_batch,
) -> Iterator[tuple[Sequence[str], _Verdicts]]:
    """(emails, task(emails)) per batch of EMAIL_BATCH_SIZE, in order.

    Email validation is pure Python (the GIL allows one core per process), so
    a large backlog (the first run over a full CRM: ~1M emails) is spread over
    worker processes. They are started with "spawn": the Dagster run process
    has threads, and forking a threaded process can deadlock. Workers only
    validate strings; they never open the warehouse. A small backlog (the
    daily case) stays in process.
    """
    batches = [pending[i : i + EMAIL_BATCH_SIZE] for i in range(0, len(pending), EMAIL_BATCH_SIZE)]
    if workers <= 1 or len(pending) <= EMAIL_PARALLEL_MIN:
        for batch in batches:
            yield batch, task(batch)
        return
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(batches)), mp_context=multiprocessing.get_context("spawn")
    )
    try:
        # map keeps the batch order; the caller writes each batch while the
        # workers compute the next ones (inserting is fast, results do not pile up).
        yield from zip(batches, pool.map(task, batches), strict=True)
    finally:
        # On an error in the caller, queued batches are dropped, not computed.
        pool.shutdown(wait=True, cancel_futures=True)


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


def update_email_checks(
    con: duckdb.DuckDBPyConnection, log: Log = _quiet, *, by_domain: bool = True
) -> EmailCheckSummary:
    """Validate the distinct normalized emails of raw.crm_contacts not checked yet.

    The normalization is the staging model's (`normalized_email_sql`: lower
    case, trimmed of all white space, EMAIL_TRIM_PATTERN; empty is null), so
    every contact's email_normalized finds its row. Plain addresses
    (PLAIN_EMAIL_PATTERN, nearly all of a CRM) are judged by their domain, once
    per distinct domain, and written in one set-based insert; the others go
    through email-validator one by one (`by_domain=False` sends every address
    that way: the tests compare both). Results are written in batches through
    Arrow, never row by row.
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
    con.execute(
        f"""
        create or replace temp table email_checks_pending as
        with emails as (
            select distinct {normalized_email_sql("email")} as email_normalized
            from raw.crm_contacts
        )
        select
            e.email_normalized,
            case
                when ? and length(e.email_normalized) <= ?
                    and strpos(e.email_normalized, '@') - 1 <= ?
                    and regexp_full_match(e.email_normalized, ?)
                    then split_part(e.email_normalized, '@', 2)
            end as plain_domain
        from emails as e
        anti join quality.email_checks as q on q.email_normalized = e.email_normalized
        where e.email_normalized is not null
        """,
        [by_domain, PLAIN_EMAIL_MAX_LENGTH, PLAIN_LOCAL_MAX_LENGTH, PLAIN_EMAIL_PATTERN],
    )
    try:
        total = con.execute("select count(*) from email_checks_pending").fetchone()[0]
        _check_plain_emails(con, log)
        pending = [
            row[0]
            for row in con.execute(
                """
                select email_normalized
                from email_checks_pending
                where not coalesce(judged_by_domain, false)
                -- grouped by domain: each batch meets few domains (their checks are cached)
                order by string_split(email_normalized, '@')[-1], email_normalized
                """
            ).fetchall()
        ]
    finally:
        con.execute("drop table if exists email_checks_pending")
    invalid = 0
    done = 0
    workers = email_workers()
    if workers > 1 and len(pending) > EMAIL_PARALLEL_MIN:
        log(f"email checks: {len(pending)} email(s) to validate in {workers} worker processes")
    for emails, (valid, reasons, domains, registrable) in _email_check_batches(pending, workers):
        invalid += valid.count(False)
        batch = pa.table(
            {
                "email_normalized": pa.array(emails, pa.string()),
                "is_valid_syntax": pa.array(valid, pa.bool_()),
                "invalid_reason": pa.array(reasons, pa.string()),
                "email_domain": pa.array(domains, pa.string()),
                "registrable_domain": pa.array(registrable, pa.string()),
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
        done += len(emails)
        if done == len(pending) or done % (5 * EMAIL_BATCH_SIZE) == 0:
            log(f"email checks: {done}/{len(pending)} checked one by one")
    cached = con.execute("select count(*) from quality.email_checks").fetchone()[0]
    return EmailCheckSummary(total, invalid, stale, cached)


def _check_plain_emails(con: duckdb.DuckDBPyConnection, log: Log) -> None:
    """Judge the plain addresses of `email_checks_pending` by their domains.

    Each distinct domain is checked once (`plain_domain_check`, in worker
    processes for a large backlog); the addresses at a domain that passes are
    written valid in one insert and marked `judged_by_domain`. The others
    (a domain that fails, or is judged one by one) are left to the caller.
    """
    con.execute("alter table email_checks_pending add column judged_by_domain boolean")
    domains = [
        row[0]
        for row in con.execute(
            "select distinct plain_domain from email_checks_pending "
            "where plain_domain is not null order by plain_domain"
        ).fetchall()
    ]
    if not domains:
        return
    workers = email_workers()
    if workers > 1 and len(domains) > EMAIL_PARALLEL_MIN:
        log(f"email checks: {len(domains)} domain(s) to validate in {workers} worker processes")
    con.execute(
        "create or replace temp table email_checks_domains "
        "(domain varchar, is_valid boolean, registrable_domain varchar)"
    )
    try:
        for batch_domains, (valid, registrable) in _email_check_batches(
            domains, workers, plain_domain_batch
        ):
            batch = pa.table(
                {
                    "domain": pa.array(batch_domains, pa.string()),
                    "is_valid": pa.array(valid, pa.bool_()),
                    "registrable_domain": pa.array(registrable, pa.string()),
                }
            )
            con.register("email_domain_batch", batch)
            try:
                con.execute("insert into email_checks_domains select * from email_domain_batch")
            finally:
                con.unregister("email_domain_batch")
        con.execute(
            """
            update email_checks_pending as p
            set judged_by_domain = true
            from email_checks_domains as d
            where d.domain = p.plain_domain and d.is_valid
            """
        )
        con.execute(
            """
            insert into quality.email_checks
            select p.email_normalized, true, null, p.plain_domain, d.registrable_domain,
                   ? as validator_version, cast(now() as timestamp) as checked_at
            from email_checks_pending as p
            inner join email_checks_domains as d on d.domain = p.plain_domain
            where p.judged_by_domain
            """,
            [VALIDATOR_VERSION],
        )
        judged = con.execute(
            "select count(*) from email_checks_pending where judged_by_domain"
        ).fetchone()[0]
    finally:
        con.execute("drop table if exists email_checks_domains")
    log(f"email checks: {judged} plain email(s) judged valid by their {len(domains)} domain(s)")


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
    # a ratio, or a number of minutes (the future skew) up to a year
    upper = 1 if spec["name"] in ("mostly", "min_ratio_of_previous") else MAX_THRESHOLD
    expected = (
        f"{spec['env']}={raw!r}: expected a number from 0 to {upper} ({spec['name']} of check "
        f"{expectation.meta['check_name']})"
    )
    try:
        value = float(raw) if raw else float(default)
    except ValueError:
        raise SuiteError(expected) from None
    if not 0 <= value <= upper:  # also rejects nan
        raise SuiteError(expected)
    return value


def check_settings(environ: Mapping[str, str] | None = None) -> None:
    """Raise SettingsError for a gate setting from the environment that a run
    could not use (a threshold that is not a number or out of range, a rescan
    interval, the email workers, the full-scan switch, the quarantine-rate
    check's settings), so that `leadscore` stops before any work instead of
    failing in a check step. A suite file that does not load is left to the
    run, which names it in its step."""
    environ = os.environ if environ is None else environ
    env_flag(FULL_SCAN_ENV, environ=environ)
    try:
        _full_scan_every_days(environ)
        email_workers(environ)
    except (SuiteError, ValueError) as exc:
        raise SettingsError(str(exc)) from None
    for env, (pattern, upper, expected) in QUARANTINE_SETTINGS.items():
        raw = environ.get(env, "").strip()
        if raw and (not pattern.fullmatch(raw) or (upper is not None and float(raw) > upper)):
            raise SettingsError(f"{env}={raw!r}: expected {expected}")
    for entity in ENTITIES:
        try:
            doc = read_suite_json(entity)
        except SuiteError:
            continue
        # the suite file as written (GX's import takes seconds): GX's default
        # `mostly` is 1.0
        for expectation in doc.get("expectations", []):
            kwargs = expectation.get("kwargs") or {}
            view = SimpleNamespace(
                meta=expectation.get("meta") or {}, mostly=kwargs.get("mostly", 1.0)
            )
            try:
                threshold(view, environ)
            except SuiteError as exc:
                raise SettingsError(str(exc)) from None


#: Value-set parameters bound to a maintained list (not a warehouse table).
VALUE_SET_PARAMETERS: dict[str, Callable[[], Sequence[str]]] = {
    "iso_3166_1_alpha_2": iso_3166_1_alpha_2,
}


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
        # a warn-level check that finds rows warns; only a blocking one fails
        state = "passed" if self.success else "FAILED" if self.is_blocking else "WARNS"
        text = f"{self.entity}.{self.check_name} {state}"
        if self.unexpected_count:
            text += f": {self.unexpected_count} failing row(s)"
            if self.unexpected_percent is not None:
                text += f" ({self.unexpected_percent}%)"
        if not self.success and "collapsed_files" in self.observed:
            text += (
                f": {self.observed['collapsed_files']} landing file(s) with fewer than "
                f"{self.observed['min_ratio_of_previous']:.0%} of the rows of their "
                "accepted version"
            )
        elif not self.success and self.expectation_type == "expect_table_row_count_to_be_between":
            text += (
                f": {self.observed['row_count']} rows, at least {self.observed['min_row_count']} "
                f"expected (previous: {self.observed['previous_row_count']})"
            )
        if self.failing_sample:
            # which rows: the first few here, every one in the audit table
            # (also when a check passes within its threshold)
            shown = self.failing_sample[:SUMMARY_ROWS]
            text += "; e.g. " + ", ".join(_row_label(row) for row in shown)
            if (self.unexpected_count or len(shown)) > len(shown):
                text += ", ..."
            text += f"; all in {CHECK_FAILURES_TABLE}"
        return text


def _row_label(row: Mapping[str, Any]) -> str:
    """One failing row for a message: its id, where it came from, the value checked."""
    if row.get("record_id") is None and row.get("source_file") is None and row.get("column_name"):
        # a finding about the table, not a row: "activity_type: column missing"
        return f"{row['column_name']}: {row.get('value')}"
    if (
        row.get("record_id") is None
        and row.get("source_file")
        and row.get("source_row") is None
        and row.get("column_name") is None
    ):
        # a finding about a whole landing file: "crm/contacts.csv: 20 rows, ..."
        return f"{row['source_file']}: {row.get('value')}"
    label = str(row["record_id"]) if row.get("record_id") is not None else "(no id)"
    where = []
    if row.get("source_file") is not None:
        line = f" row {row['source_row']}" if row.get("source_row") is not None else ""
        where.append(f"{row['source_file']}{line}")
    if row.get("column_name") is not None:
        value = row.get("value")
        if isinstance(value, str) and len(value) > LABEL_VALUE_CHARS:
            value = value[: LABEL_VALUE_CHARS - 3] + "..."
        where.append(f"{row['column_name']}={value!r}")
    return label + (f" ({', '.join(where)})" if where else "")


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
    """Create audit.check_failures, audit.batch_history and the incremental state
    (audit.check_watermarks, audit.check_reference_keys)."""
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
    # The landing deliveries a check saw (max raw._load_log.load_id of the
    # entity): where `delivery_not_collapsed` starts from in a warehouse from
    # before audit.accepted_deliveries. Added after the table; warehouses from
    # before get the column here.
    con.execute(f"alter table {BATCH_HISTORY_TABLE} add column if not exists load_id bigint")
    # Which of the two batch checks ran (a run from the UI may select one): only
    # a run of a check moves its own baseline. Null on rows from before.
    for column in ("table_count_checked", "deliveries_checked"):
        con.execute(f"alter table {BATCH_HISTORY_TABLE} add column if not exists {column} boolean")
    con.execute(
        f"""
        create table if not exists {CHECK_WATERMARKS_TABLE} (
            entity varchar not null,
            check_name varchar not null,
            config_hash varchar not null,
            load_id bigint not null,
            reference_load_id bigint,
            bounds varchar,
            full_scan_at timestamp not null,
            run_id varchar not null,
            checked_at timestamp not null
        )
        """
    )
    con.execute(
        f"""
        create table if not exists {ACCEPTED_DELIVERIES_TABLE} (
            entity varchar not null,
            delivery varchar not null,
            source_file varchar not null,
            sha256 varchar not null,
            row_count bigint not null,
            load_id bigint not null,
            first_loaded_at timestamp not null,
            run_id varchar not null,
            accepted_at timestamp not null
        )
        """
    )
    con.execute(
        f"""
        create table if not exists {CHECK_REFERENCE_KEYS_TABLE} (
            entity varchar not null,
            check_name varchar not null,
            key varchar not null
        )
        """
    )
    con.execute(
        f"""
        create table if not exists {VERIFIED_UNIQUE_TABLE} (
            entity varchar not null,
            column_name varchar not null,
            load_id bigint not null,
            run_id varchar not null,
            verified_at timestamp not null
        )
        """
    )


def _column_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name -> DuckDB type of a `schema.table` (empty when it does not exist)."""
    schema, name = table.split(".")
    return dict(
        con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchall()
    )


def _load_id_state(
    con: duckdb.DuckDBPyConnection, table: str, types: Mapping[str, str], positions: bool = True
) -> tuple[int | None, bool]:
    """(max `_load_id`, whether every row has a load id and, with `positions`,
    a source file and row): what incremental checks need. The counts come from
    the column statistics (no scan)."""
    needed = ["_load_id", *(("_source_file", "_source_row") if positions else ())]
    if not all(c in types for c in needed):
        return None, False
    nulls = ", ".join(f"count(*) - count({c})" for c in needed)
    row = con.execute(f"select coalesce(max(_load_id), 0), {nulls} from {table}").fetchone()
    return row[0], not any(row[1:])


def _full_scan_every_days(environ: Mapping[str, str]) -> float:
    raw = environ.get(FULL_SCAN_EVERY_DAYS_ENV, "").strip()
    expected = (
        f"{FULL_SCAN_EVERY_DAYS_ENV}={raw!r}: expected a number of days from 0 (never) "
        f"to {MAX_FULL_SCAN_EVERY_DAYS}"
    )
    try:
        days = float(raw) if raw else float(FULL_SCAN_EVERY_DAYS)
    except ValueError:
        raise SuiteError(expected) from None
    if not 0 <= days <= MAX_FULL_SCAN_EVERY_DAYS:  # also rejects nan
        raise SuiteError(expected)
    return days


def _encode_bounds(bounds: tuple[Any, Any] | None) -> str | None:
    if bounds is None:
        return None

    def encode(value: Any) -> Any:
        return {"timestamp": value.isoformat()} if isinstance(value, datetime) else value

    return json.dumps([encode(b) for b in bounds])


def _bounds_widened(stored: str | None, bounds: tuple[Any, Any]) -> bool:
    """Whether the interval `bounds` contains the stored one (a row inside the old
    interval is inside the new one); None is unbounded."""
    if stored is None:
        return False

    def decode(value: Any) -> Any:
        return datetime.fromisoformat(value["timestamp"]) if isinstance(value, dict) else value

    old_low, old_high = (decode(v) for v in json.loads(stored))
    low, high = bounds
    try:
        if low is not None and (old_low is None or low > old_low):
            return False
        return not (high is not None and (old_high is None or high < old_high))
    except TypeError:  # a bound changed type: the check changed
        return False


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
        full_scan: bool = False,
        landing_dir: Path | None = None,
    ) -> None:
        self.con = con
        self.landing_dir = landing_dir
        self.entity = entity
        self.suite = suite
        self.run_id = run_id
        self.now = now
        self.environ = environ
        meta = suite.meta or {}
        self.table = meta.get("table", f"raw.{entity}")
        self.id_column = meta["id_column"]
        self.column_types = _column_types(con, self.table)
        self.columns = set(self.column_types)
        if not self.columns:
            raise SuiteError(f"{self.table} does not exist; load the landing files first")
        self.row_count = con.execute(f"select count(*) from {self.table}").fetchone()[0]
        # Row-level checks rescan only rows loaded since their watermark when every
        # row carries its load id and landing position (see _column_map).
        self.full_scan = full_scan
        self.max_load_id, self.incremental = _load_id_state(con, self.table, self.column_types)
        self._failing_rows_ready = False
        #: How each row-level check scanned ("full" or "incremental: N rows"), for the log.
        self.scans: dict[str, str] = {}
        #: The delivery check ran: temp table _judged_deliveries holds what it judged.
        self.judged_deliveries = False

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
        *,
        unique: bool = False,
        bounds: tuple[Any, Any] | None = None,
        reference: dict[str, str] | None = None,
        resolved_value_set: Sequence[str] | None = None,
    ) -> CheckOutcome:
        """A per-row expectation: unexpected rows among the non-null values, with `mostly`.

        `unique`, `bounds` (the resolved bounds of a between) and `reference`
        ({table, column, value}: an anti join) say how the check may be run on
        the new rows only; the failing rows are the same either way.
        """
        if column not in self.columns:
            self._forget(expectation.meta["check_name"])
            if unique:
                self._set_verified_unique(column, None)
            return self._missing_column(expectation, column)
        name = expectation.meta["check_name"]
        q = f"t.{_quote(column)}"
        source = from_sql or f"{self.table} as t"
        rows_sql = (
            f"select {self._locator()}, cast({q} as varchar) as value "
            f"from {source} where {unexpected_condition}"
        )
        config_hash = self._config_hash(expectation, column, reference, resolved_value_set)
        encoded_bounds = _encode_bounds(bounds)
        ref_state = self._reference_state(reference) if reference is not None else None
        plan = self._incremental_plan(name, config_hash, bounds, reference, ref_state)
        if plan is None:
            self.scans[name] = "full scan"
            full_scan_at = self.now
        else:
            since, full_scan_at, _ = plan
            scope = self._build_scope(name, column, since, unique, reference)
            self.scans[name] = f"incremental: {scope} row(s) new since _load_id {since} or failing"
            # The judged rows, fetched by rowid (cheap), with the columns the SQL reads.
            needed = [
                c for c in (self.id_column, "_source_file", "_source_row") if c in self.columns
            ]
            needed_sql = ", ".join(_quote(c) for c in dict.fromkeys([*needed, column]))
            self.con.execute(
                f"create or replace temp table gx_rows as select {needed_sql} "
                f"from {self.table} where rowid in (select rid from gx_scope)"
            )
            source = "gx_rows as t"
            if unique:
                # Every row holding a value seen in the scope is in it: count there.
                cq = _quote(column)
                unexpected_condition = (
                    f"{q} in (select {cq} from gx_rows group by {cq} having count(*) > 1)"
                )
            if reference is not None:
                source += (
                    f" anti join {reference['table']} as r "
                    f"on r.{_quote(reference['column'])} = {reference['value']}"
                )
            rows_sql = (
                f"select {self._locator()}, cast({q} as varchar) as value "
                f"from {source} where {unexpected_condition}"
            )
        # No watermark while the failing rows are rewritten: a crash in between
        # leaves the check without one, and its next run scans in full.
        self._forget(name, keep_reference_keys=True)
        if unique:
            self._set_verified_unique(column, None)
        unexpected = self._record_failures(expectation, column, rows_sql)
        if unique and unexpected == 0 and plan is None:
            # A full scan judged every row through max_load_id and no value
            # repeats. An incremental scan does not record: a row edited in
            # place (a hand fix, no new _load_id) is outside its scope until
            # the next full scan, so after one the dbt test falls back to its
            # own watermark (the last complete build).
            self._set_verified_unique(column, self.max_load_id)
        if self.incremental and reference is not None and ref_state is not None:
            self._update_reference_keys(name, reference, ref_state, plan)
        if self.incremental:
            self.con.execute(
                f"insert into {CHECK_WATERMARKS_TABLE} values "
                "(?, ?, ?, ?, ?, ?, ?, ?, cast(now() as timestamp))",
                [
                    self.entity,
                    name,
                    config_hash,
                    self.max_load_id,
                    ref_state[0] if ref_state is not None else None,
                    encoded_bounds,
                    full_scan_at,
                    self.run_id,
                ],
            )
        for temp in ("gx_scope", "gx_rows", "gx_removed_keys"):
            self.con.execute(f"drop table if exists {temp}")
        # count(col) comes from the column statistics: the whole-table counts are cheap.
        element_count, missing = self.con.execute(
            f"select count(*), count(*) - count({q}) from {self.table} as t"
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

    # -- incremental row-level checks ----------------------------------------
    #
    # A row-level check's failing rows in audit.check_failures are kept with a
    # watermark: the largest raw `_load_id` they cover. Ingestion gives every
    # inserted or upserted row its file's new `_load_id`, so the rows not
    # loaded since the watermark are exactly the rows the last run judged,
    # unchanged. The next run rescans only
    #   * the rows loaded since the watermark (`_load_id` > watermark),
    #   * the rows that failed last time and still exist (matched by source
    #     file and row; a failing row may pass now),
    #   * for unique: every row sharing a value with those rows (a new row can
    #     make an old value a duplicate),
    #   * for a reference check: the rows whose value is a reference key that
    #     disappeared since (the keys are kept in audit.check_reference_keys),
    # then replaces all the check's failing rows with the failing rows among
    # them. A row outside that set passed last time and still passes:
    #   * not null, in a literal set: its value did not change, nor did the
    #     check (a hash of the kwargs, column types and SQL version is kept);
    #   * between: its value did not change and the bounds did not narrow. The
    #     upper bound max_allowed_timestamp (now + skew) only grows as time
    #     passes; a run with an earlier `now` or a smaller skew narrows it,
    #     and then the check scans in full;
    #   * reference: no key it matched has disappeared (else it is rescanned).
    # A full scan happens on the first run, when the watermark is missing,
    # the check changed, the table has rows without load id or landing
    # position, LEADSCORE_GX_FULL_SCAN=1, or the last full scan is older
    # than LEADSCORE_GX_FULL_SCAN_EVERY_DAYS (default 7; 0: never): a table
    # edited in place without a new `_load_id` (a manual fix) is caught then.

    def _config_hash(
        self,
        expectation: "Expectation",
        column: str,
        reference: dict[str, str] | None,
        resolved_value_set: Sequence[str] | None = None,
    ) -> str:
        """Everything a row's verdict depends on besides its value and the bounds."""
        kwargs = {
            key: value
            for key, value in expectation.configuration.kwargs.items()
            # mostly changes the verdict on the table, never which rows fail.
            if key not in ("mostly", "result_format", "catch_exceptions", "include_config")
        }
        meta = expectation.meta or {}
        doc = {
            "version": INCREMENTAL_VERSION,
            "type": expectation.expectation_type,
            "table": self.table,
            "id_column": self.id_column,
            "kwargs": kwargs,
            "normalize": meta.get("normalize"),
            "reference": reference,
            "column_type": self.column_types.get(column),
            "id_type": self.column_types.get(self.id_column),
        }
        if resolved_value_set is not None:
            doc["value_set"] = list(resolved_value_set)
        text = json.dumps(doc, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _reference_state(self, reference: dict[str, str]) -> tuple[int, str] | None:
        """(max _load_id, column type) of a reference table that allows incremental runs."""
        types = _column_types(self.con, reference["table"])
        max_load_id, ok = _load_id_state(self.con, reference["table"], types, positions=False)
        if not ok or max_load_id is None:
            return None
        return max_load_id, types.get(reference["column"], "")

    def _incremental_plan(
        self,
        name: str,
        config_hash: str,
        bounds: tuple[Any, Any] | None,
        reference: dict[str, str] | None,
        ref_state: tuple[int, str] | None,
    ) -> tuple[int, datetime, int | None] | None:
        """(watermark, time of the last full scan, reference watermark) when the
        check may rescan only what changed; None when it must scan the whole table."""
        if self.full_scan or not self.incremental:
            return None
        row = self.con.execute(
            f"""
            select config_hash, load_id, reference_load_id, bounds, full_scan_at
            from {CHECK_WATERMARKS_TABLE} where entity = ? and check_name = ?
            """,
            [self.entity, name],
        ).fetchone()
        if row is None or row[0] != config_hash:
            return None
        _, since, ref_since, old_bounds, full_scan_at = row
        if self.max_load_id < since:
            return None  # the table was rebuilt: its load ids are not the ones covered
        every = _full_scan_every_days(self.environ)
        if every > 0 and self.now - full_scan_at >= timedelta(days=every):
            return None
        if bounds is not None and not _bounds_widened(old_bounds, bounds):
            return None
        if reference is not None:
            # The snapshot of keys is kept only for VARCHAR keys: the text form is
            # then the value itself.
            if ref_state is None or ref_since is None or ref_state[1] != "VARCHAR":
                return None
            if self.column_types.get(reference["source_column"]) != "VARCHAR":
                return None
        return since, full_scan_at, ref_since

    def _ensure_failing_rows(self) -> None:
        """Temp table gx_failing_rows: the raw rows of this entity's failing rows."""
        if self._failing_rows_ready:
            return
        # Source file and row locate a row; the id is not compared (it may be the
        # failing value). A few extra rows rescanned cost nothing.
        self.con.execute(
            f"""
            create or replace temp table gx_failing_rows as
            select distinct f.check_name, t.rowid as rid, t._load_id as load_id
            from {self.table} as t
            join (
                select distinct check_name, source_file, source_row
                from {CHECK_FAILURES_TABLE}
                where entity = {_sql_literal(self.entity)}
                  and source_file is not null and source_row is not null
            ) as f on t._source_file = f.source_file and t._source_row = f.source_row
            """
        )
        self._failing_rows_ready = True

    def _build_scope(
        self,
        name: str,
        column: str,
        since: int,
        unique: bool,
        reference: dict[str, str] | None,
    ) -> int:
        """Temp table gx_scope (rid): the rows this run of the check judges."""
        self._ensure_failing_rows()
        parts = [
            f"select rowid as rid from {self.table} where _load_id > {int(since)}",
            f"select rid from gx_failing_rows where check_name = {_sql_literal(name)} "
            f"and load_id <= {int(since)}",
        ]
        if reference is not None:
            self.con.execute(
                f"""
                create or replace temp table gx_removed_keys as
                select s.key from {CHECK_REFERENCE_KEYS_TABLE} as s
                anti join {reference["table"]} as r on r.{_quote(reference["column"])} = s.key
                where s.entity = {_sql_literal(self.entity)}
                  and s.check_name = {_sql_literal(name)}
                """
            )
            if self.con.execute("select count(*) from gx_removed_keys").fetchone()[0]:
                parts.append(
                    f"select t.rowid from {self.table} as t "
                    f"where {reference['value']} in (select key from gx_removed_keys)"
                )
        self.con.execute(f"create or replace temp table gx_scope as {' union '.join(parts)}")
        if unique:
            q = _quote(column)
            self.con.execute(
                f"""
                create or replace temp table gx_values as
                select distinct t.{q} as v from {self.table} as t
                where t.rowid in (select rid from gx_scope) and t.{q} is not null
                """
            )
            low, high = self.con.execute("select min(v), max(v) from gx_values").fetchone()
            # Every row holding one of those values; the range lets DuckDB skip
            # row groups by their min/max (ids mostly grow with the loads).
            self.con.execute(
                f"""
                create or replace temp table gx_scope as
                select t.rowid as rid from {self.table} as t
                where t.{q} between ? and ? and t.{q} in (select v from gx_values)
                """,
                [low, high],
            )
            self.con.execute("drop table gx_values")
        return self.con.execute("select count(*) from gx_scope").fetchone()[0]

    def _update_reference_keys(
        self,
        name: str,
        reference: dict[str, str],
        ref_state: tuple[int, str],
        plan: tuple[int, datetime, int | None] | None,
    ) -> None:
        """Keep audit.check_reference_keys equal to the reference keys just compared."""
        keys = f"cast(r.{_quote(reference['column'])} as varchar)"
        where = f"entity = {_sql_literal(self.entity)} and check_name = {_sql_literal(name)}"
        if plan is None:
            self.con.execute(f"delete from {CHECK_REFERENCE_KEYS_TABLE} where {where}")
            self.con.execute(
                f"""
                insert into {CHECK_REFERENCE_KEYS_TABLE}
                select distinct ?, ?, {keys} from {reference["table"]} as r
                where {keys} is not null
                """,
                [self.entity, name],
            )
            return
        ref_since = plan[2]
        self.con.execute(
            f"delete from {CHECK_REFERENCE_KEYS_TABLE} where {where} "
            "and key in (select key from gx_removed_keys)"
        )
        self.con.execute(
            f"""
            insert into {CHECK_REFERENCE_KEYS_TABLE}
            select distinct ?, ?, n.key
            from (
                select {keys} as key from {reference["table"]} as r
                where r._load_id > ? and {keys} is not null
            ) as n
            anti join (select key from {CHECK_REFERENCE_KEYS_TABLE} where {where}) as s
                on s.key = n.key
            """,
            [self.entity, name, ref_since],
        )

    def _set_verified_unique(self, column: str, load_id: int | None) -> None:
        """Record that `column` is unique through `load_id` (None: remove the record)."""
        self.con.execute(
            f"delete from {VERIFIED_UNIQUE_TABLE} where entity = ? and column_name = ?",
            [self.entity, column],
        )
        if load_id is not None:
            self.con.execute(
                f"insert into {VERIFIED_UNIQUE_TABLE} values "
                "(?, ?, ?, ?, cast(now() as timestamp))",
                [self.entity, column, load_id, self.run_id],
            )

    def _forget(self, name: str, keep_reference_keys: bool = False) -> None:
        """Drop the check's watermark (its next run scans in full)."""
        self.con.execute(
            f"delete from {CHECK_WATERMARKS_TABLE} where entity = ? and check_name = ?",
            [self.entity, name],
        )
        if not keep_reference_keys:
            self.con.execute(
                f"delete from {CHECK_REFERENCE_KEYS_TABLE} where entity = ? and check_name = ?",
                [self.entity, name],
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
        """The row count at the last passed check of the table's row count of this
        entity in another run."""
        row = self._last_passed("table_count_checked")
        return None if row is None else (int(row[0]), row[1])

    def _last_passed(self, checked: str) -> tuple[int, datetime, int | None] | None:
        """(row count, checked at, last load id seen) of the last passed run, in
        another run, of this entity's batch check flagged by the `checked` column
        of audit.batch_history (rows from before the flag count)."""
        return self.con.execute(
            f"""
            select row_count, checked_at, load_id from {BATCH_HISTORY_TABLE}
            where entity = ? and passed and run_id <> ? and {checked} is not false
            order by checked_at desc limit 1
            """,
            [self.entity, self.run_id],
        ).fetchone()

    def accepted_load_id(self) -> int | None:
        """The last landing load (raw._load_log.load_id) of this entity that a
        passed delivery check saw: deliveries up to it were accepted. None: no
        passed delivery check yet, or no load log."""
        last = self._last_passed("deliveries_checked")
        if last is None or not self.has_load_log:
            return None
        if last[2] is not None:
            return int(last[2])
        # A check recorded before batch_history had load_id: what was loaded by then.
        row = self.con.execute(
            "select max(load_id) from raw._load_log where entity = ? and loaded_at <= ?",
            [self.entity, last[1]],
        ).fetchone()
        return None if row[0] is None else int(row[0])

    @property
    def has_load_log(self) -> bool:
        return bool(
            self.con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = 'raw' and table_name = '_load_log'"
            ).fetchone()[0]
        )

    def current_load_id(self) -> int | None:
        """The entity's last landing load (None without a load log)."""
        if not self.has_load_log:
            return None
        return self.con.execute(
            "select max(load_id) from raw._load_log where entity = ?", [self.entity]
        ).fetchone()[0]

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
        if (expectation.meta or {}).get("batch") == DELIVERED_FILES_BATCH:
            return self._delivered_files_not_collapsed(expectation)
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

    def _delivered_files_not_collapsed(self, expectation: "Expectation") -> CheckOutcome:
        """Each landing file changed since its accepted version keeps at least
        `min_ratio_of_previous` of that version's rows.

        The raw tables only grow (deliveries are upserts), so a truncated export
        never shrinks the table: the file itself is the batch here. A delivery is
        what a version is compared with: for an entity with one landing file
        (the CRM exports), the entity's export whatever its name or format; for
        an entity with many files (activities, usually one new file a day), the
        file name, so a new file has nothing to collapse from. The versions
        judged are the latest of each delivery still in the landing folder;
        `run_suite` records them in audit.accepted_deliveries when the run
        passes (`accept_deliveries`). A failed run, or a delivery not judged
        (its file deleted), never moves a baseline.
        """
        name = expectation.meta["check_name"]
        ratio = threshold(expectation, self.environ)
        if ratio is None:
            raise SuiteError(f"{self.entity}.{name}: needs meta.threshold min_ratio_of_previous")
        self.con.execute(
            f"delete from {CHECK_FAILURES_TABLE} where entity = ? and check_name = ?",
            [self.entity, name],
        )
        observed: dict[str, Any] = {
            "current_load_id": self.current_load_id(),
            "min_ratio_of_previous": ratio,
            "collapsed_files": 0,
        }
        if not self.has_load_log:
            return self._outcome(expectation, True, observed=observed)
        self._bootstrap_accepted_deliveries()
        landing = LANDING_ENTITIES.get(self.entity)
        # Only files still in the landing folder are judged: a collapsed file
        # deleted (or replaced by a file of another name) is no delivery any more.
        present = (
            [str(path.relative_to(self.landing_dir)) for path in landing.files(self.landing_dir)]
            if landing is not None and self.landing_dir is not None
            else None
        )
        observed["files_present"] = present if present is None else len(present)
        # The latest version of each delivery still in the landing folder.
        self.con.execute(
            f"""
            create or replace temp table _judged_deliveries as
            select * from ({self._delivery_versions_sql()})
            where $present is null or list_contains($present, source_file)
            qualify row_number() over (partition by delivery order by load_id desc) = 1
            """,
            {"entity": self.entity, "present": present},
        )
        collapsed = self.con.execute(
            f"""
            select
                latest.source_file, latest.row_count, accepted.source_file,
                accepted.row_count, accepted.first_loaded_at,
                cast(ceil(accepted.row_count * $ratio) as bigint) as min_rows
            from _judged_deliveries as latest
            inner join {ACCEPTED_DELIVERIES_TABLE} as accepted
                on accepted.entity = $entity and latest.delivery = accepted.delivery
            where latest.load_id > accepted.load_id
              and latest.row_count < ceil(accepted.row_count * $ratio)
            order by latest.source_file
            """,
            {"entity": self.entity, "ratio": ratio},
        ).fetchall()
        self.judged_deliveries = True
        observed["accepted_deliveries"] = self.con.execute(
            f"select count(*) from {ACCEPTED_DELIVERIES_TABLE} where entity = ?", [self.entity]
        ).fetchone()[0]
        if collapsed:
            self.con.executemany(
                f"""
                insert into {CHECK_FAILURES_TABLE}
                values (?, ?, ?, ?, null, null, ?, ?, null, cast(now() as timestamp))
                """,
                [
                    [
                        self.run_id,
                        self.entity,
                        name,
                        expectation.expectation_type,
                        f"{rows} rows, at least {min_rows} expected (the accepted version, "
                        + (f"{was_file} " if was_file != file else "")
                        + f"loaded {loaded_at:%Y-%m-%d %H:%M} UTC, had {was_rows})",
                        file,
                    ]
                    for file, rows, was_file, was_rows, loaded_at, min_rows in collapsed
                ],
            )
        observed["collapsed_files"] = len(collapsed)
        return self._outcome(
            expectation,
            not collapsed,
            failing_sample=self._sample(name),
            observed=observed,
        )

    def _delivery_versions_sql(self) -> str:
        """SQL (binds $entity) of every logged version of the entity's landing
        files: load_id, source_file, sha256, first_loaded_at, row_count and the
        delivery it belongs to (the file name, or '' for a one-file entity).
        Touched-but-identical files are logged with 0 rows: a version's row
        count is its content's, and it is dated by its first load."""
        landing = LANDING_ENTITIES.get(self.entity)
        per_file = landing is None or landing.many_files
        return f"""
            select
                load_id, source_file, sha256,
                min(loaded_at) over (partition by source_file, sha256) as first_loaded_at,
                max(row_count) over (partition by source_file, sha256) as row_count,
                {"source_file" if per_file else "''"} as delivery
            from raw._load_log
            where entity = $entity
        """

    def _bootstrap_accepted_deliveries(self) -> None:
        """A warehouse from before audit.accepted_deliveries: what its last passed
        check had loaded by then (`accepted_load_id`) is the accepted version of
        each delivery, once."""
        if self.con.execute(
            f"select count(*) from {ACCEPTED_DELIVERIES_TABLE} where entity = ?", [self.entity]
        ).fetchone()[0]:
            return
        accepted = self.accepted_load_id()
        if accepted is None:
            return
        self.con.execute(
            f"""
            insert into {ACCEPTED_DELIVERIES_TABLE}
            select
                $entity, delivery, source_file, sha256, row_count, load_id, first_loaded_at,
                'batch_history' as run_id, cast(now() as timestamp) as accepted_at
            from ({self._delivery_versions_sql()})
            where load_id <= $accepted
            qualify row_number() over (partition by delivery order by load_id desc) = 1
            """,
            {"entity": self.entity, "accepted": accepted},
        )

    def accept_deliveries(self) -> None:
        """The versions this run's delivery check judged become the accepted ones
        (call only when the run passed)."""
        if not self.judged_deliveries:
            return
        self.con.execute("begin transaction")
        try:
            self.con.execute(
                f"""
                delete from {ACCEPTED_DELIVERIES_TABLE}
                where entity = $entity
                  and delivery in (select delivery from _judged_deliveries)
                """,
                {"entity": self.entity},
            )
            self.con.execute(
                f"""
                insert into {ACCEPTED_DELIVERIES_TABLE}
                select
                    $entity, delivery, source_file, sha256, row_count, load_id,
                    first_loaded_at, $run_id, cast(now() as timestamp)
                from _judged_deliveries
                """,
                {"entity": self.entity, "run_id": self.run_id},
            )
            self.con.execute("commit")
        except BaseException:
            self.con.execute("rollback")
            raise

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
            unique=True,
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
            bounds=(low, high),
        )

    def _expect_column_values_to_be_in_set(self, expectation: "Expectation") -> CheckOutcome:
        column = expectation.column
        q = f"t.{_quote(column)}"
        meta = expectation.meta or {}
        value = q
        if meta.get("normalize") == "lower_trim":
            value = f"lower(trim(cast({q} as varchar)))"
        elif meta.get("normalize") == "upper_trim":
            # as scoring reads a country: trimmed, upper-cased, blank is no value
            value = f"nullif(upper(trim(cast({q} as varchar))), '')"
        elif meta.get("normalize") is not None:
            raise SuiteError(f"{self.entity}: unknown meta.normalize {meta['normalize']!r}")
        param = _parameter_name(expectation.value_set)
        value_set = expectation.value_set
        if param in VALUE_SET_PARAMETERS:
            value_set = list(VALUE_SET_PARAMETERS[param]())
        if param is None or param in VALUE_SET_PARAMETERS:
            values = ", ".join(_sql_literal(v) for v in value_set)
            return self._column_map(
                expectation,
                column,
                f"{q} is not null and {value} not in ({values})",
                extra_observed={"value_set_size": len(value_set)},
                # a new release of the list re-judges every row
                resolved_value_set=value_set if param is not None else None,
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
            reference={
                "table": ref_table,
                "column": reference["column"],
                "source_column": column,
                "value": value,
            },
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
    full_scan: bool | None = None,
    landing_dir: Path | None = None,
    log: Log = _quiet,
) -> list[CheckOutcome]:
    """Run an entity's suite (or the `selected` check names of it) in DuckDB.

    Writes the failing rows of every check run to audit.check_failures
    (replacing that check's previous rows; row-level checks rescan only the
    rows loaded since their last run, see `_SuiteRun._column_map`, unless
    `full_scan`, default env LEADSCORE_GX_FULL_SCAN=1) and, when a volume check
    ran, the table's row count and last landing load to audit.batch_history
    (passed = no critical expectation run failed; which volume checks ran, so a
    run of one never moves the other's baseline), so the next run compares with
    it; on a passed run, the file versions the delivery check judged to
    audit.accepted_deliveries. `landing_dir`: judge only the delivered files
    still in it.
    """
    suite = suite if suite is not None else load_suite(entity)
    now = now or datetime.now(UTC).replace(tzinfo=None)
    ensure_audit_tables(con)
    environ = os.environ if environ is None else environ
    if full_scan is None:
        full_scan = env_flag(FULL_SCAN_ENV, environ=environ)
    runner = _SuiteRun(
        con, entity, suite, run_id, now, environ, full_scan=full_scan, landing_dir=landing_dir
    )
    outcomes = []
    batch_checks: set[str] = set()
    for expectation in suite.expectations:
        name = expectation.meta["check_name"]
        if selected is not None and name not in selected:
            continue
        outcome = runner.run(expectation)
        scan = runner.scans.get(name)
        log(outcome.summary() + (f" ({scan})" if scan else ""))
        outcomes.append(outcome)
        if expectation.expectation_type == "expect_table_row_count_to_be_between":
            batch_checks.add((expectation.meta or {}).get("batch") or "table")
    passed = all(o.success for o in outcomes if o.is_blocking)
    if passed:
        runner.accept_deliveries()
    if batch_checks:
        latest = (
            con.execute(f"select max(_loaded_at) from {runner.table}").fetchone()[0]
            if "_loaded_at" in runner.columns
            else None
        )
        con.execute(
            f"""
            insert into {BATCH_HISTORY_TABLE}
                (run_id, entity, row_count, latest_loaded_at, passed, checked_at, load_id,
                 table_count_checked, deliveries_checked)
            values (?, ?, ?, ?, ?, cast(now() as timestamp), ?, ?, ?)
            """,
            [
                run_id,
                entity,
                runner.row_count,
                latest,
                passed,
                runner.current_load_id(),
                "table" in batch_checks,
                DELIVERED_FILES_BATCH in batch_checks,
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
    backfill_policy=one_date_per_run,
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
                else row["source_file"]
                if row["source_row"] is None
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
                con,
                entity,
                run_id=context.run.run_id,
                selected=selected,
                landing_dir=leadscore.settings.landing_dir,
                log=context.log.info,
            )
        for outcome in outcomes:
            if not outcome.success:
                log = context.log.error if outcome.is_blocking else context.log.warning
                log(outcome.summary())
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
                con,
                entity,
                run_id=f"build_quality-{datetime.now(UTC):%Y%m%dT%H%M%S%f}",
                landing_dir=settings.landing_dir,
            ):
                if not outcome.success:
                    log(outcome.summary())
    finally:
        con.close()
    dbt_command(settings, "build", "--select", "+contact_quality_flags", "+activity_quality_flags")


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
