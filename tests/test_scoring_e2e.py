"""End to end: landing CSVs -> load_landing -> dbt build -> the published score tables.

A handful of hand-built contacts with the expected scores worked out by hand
below. Every rulebook number comes from the seed CSVs (seeds/*.csv), never
from this file, so an analyst's rulebook edit changes the expectations with
it; what is written by hand is *which* rules and activities apply to whom,
and the arithmetic that combines them (SPEC section 4).

Score dates: D = 2026-03-31, then D + 1 = 2026-04-01.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest import load_landing
from orchestration.quality import check_emails
from orchestration.reference import load_reference_lists
from orchestration.resources import connect
from orchestration.settings import SEEDS_DIR, Settings

D = "2026-03-31"
D1 = "2026-04-01"
CENT = Decimal("0.01")

# Select the scoring DAG (everything upstream of it, and the tests), so that
# this test is about scoring and not about unrelated marts. The vocabulary
# seed is named because only rulebook tests read it.
SCORING = ("--select", "+path:models/marts/scoring", "activity_types")

SPEC_COLUMNS = [
    "contact_id",
    "model_id",
    "score_date",
    "account_id",
    "segment",
    "fit_score",
    "engagement_score",
    "score",
    "fit_grade",
    "engagement_level",
    "matrix_cell",
    "stage",
    "warm_at",
    "mql_at",
    "is_quarantined",
    "top_reasons",
]


# --------------------------------------------------------------------------
# The rulebook, read from the seeds
# --------------------------------------------------------------------------


def _seed(name: str) -> list[dict[str, str]]:
    with (SEEDS_DIR / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _num(text: str) -> float | None:
    return float(text) if text.strip() else None


FIT = {(r["model_id"], r["rule_id"]): float(r["points"]) for r in _seed("fit_rules")}
ENGAGEMENT = {
    (r["model_id"], r["activity_type"]): (
        float(r["points"]),
        _num(r["half_life_days"]),
        _num(r["cap"]),
    )
    for r in _seed("engagement_rules")
}
INACTIVITY = {
    (r["model_id"], r["rule_id"]): (
        int(r["window_days"]),
        float(r["points"]),
        r["repeats"].strip().lower() == "true",
    )
    for r in _seed("inactivity_rules")
}
THRESHOLDS = {
    (r["model_id"], r["segment"]): (Decimal(r["warm_at"]), Decimal(r["mql_at"]))
    for r in _seed("thresholds")
}
BANDS = _seed("grade_bands")
MODELS = sorted(r["model_id"] for r in _seed("scoring_models") if r["is_active"] == "true")


def fit(model: str, *rule_ids: str) -> float:
    """Sum of the points of the fit rules listed (by hand) as matching."""
    return sum(FIT[(model, rule_id)] for rule_id in rule_ids)


def decayed(model: str, activity_type: str, age_days: int, count: int = 1) -> float:
    """count * points * 0.5 ^ (age / half_life); no decay for a blank half-life."""
    points, half_life, _ = ENGAGEMENT[(model, activity_type)]
    return count * points * (0.5 ** (age_days / half_life) if half_life else 1.0)


def capped(model: str, activity_type: str, total: float) -> float:
    """Clamp a per-type sum to the rule's cap (from above if points > 0, else below)."""
    points, _, cap = ENGAGEMENT[(model, activity_type)]
    if cap is None:
        return total
    return min(total, cap) if points >= 0 else max(total, cap)


def inactive(model: str, rule_id: str, days_inactive: int) -> float:
    """An inactivity rule's points for days_inactive (0 when it does not fire)."""
    window, points, repeats = INACTIVITY[(model, rule_id)]
    if days_inactive < window:
        return 0.0
    return points * (math.floor(days_inactive / window) if repeats else 1)


def penalty(rule_points: float, engagement_points: float) -> float:
    return max(rule_points, -max(engagement_points, 0.0))


def to_cents(value: float) -> Decimal:
    return Decimal(str(round(value, 2))).quantize(CENT)


def thresholds(model: str, segment: str) -> tuple[Decimal, Decimal]:
    return THRESHOLDS.get((model, segment)) or THRESHOLDS[(model, "*")]


def stage(model: str, segment: str, score: Decimal, quarantined: bool = False) -> str:
    warm_at, mql_at = thresholds(model, segment)
    if quarantined:
        return "disqualified"
    return "mql" if score >= mql_at else "warm" if score >= warm_at else "cold"


def band(model: str, kind: str, score: Decimal) -> str:
    """Highest band with min_score <= score; below every band: the lowest band."""
    bands = sorted(
        (Decimal(r["min_score"]), r["label"])
        for r in BANDS
        if r["model_id"] == model and r["kind"] == kind
    )
    reached = [label for min_score, label in bands if min_score <= score]
    return reached[-1] if reached else bands[0][1]


# --------------------------------------------------------------------------
# The landing files
# --------------------------------------------------------------------------

# fmt: off
ACCOUNTS = [
    # account_id, account_name, domain, industry, employee_count, annual_revenue, country
    ("A1", "Northwind Analytics", "northwind-analytics.com", "Software", "500", "25000000", "US"),
    ("A2", "Bluebird Retail", "bluebird-retail.fr", "Retail", "50", "2000000", "FR"),
    ("A3", "Orion Health", "orion-health.de", "Healthcare", "5000", "500000000", "DE"),
]

CONTACTS = [
    # contact_id, account_id, email, first, last, job_title, country, lead_source,
    # email_opt_out, created_at
    ("C1", "A1", "alice.martin@northwind-analytics.com", "Alice", "Martin", "VP of Marketing",
     "", "web", "false", "2025-12-01T09:00:00"),
    ("C2", "A2", "bob.chen@gmail.com", "Bob", "Chen", "Senior Data Analyst",
     "", "event", "no", "2026-01-15T10:00:00"),
    ("C3", "A3", "carla.diaz@orion-health.de", "Carla", "Diaz", "Chief Technology Officer",
     "", "partner", "0", "2025-06-01T08:00:00"),
    # C4 is C1 again (same email once trimmed and lower-cased), created later:
    # a non-canonical duplicate, quarantined; its activity counts for C1.
    # Trimmed means of all white space: a tab, a no-break space, a line break.
    ("C4", "A1", " \tAlice.Martin@Northwind-Analytics.com\u00a0\n", "Alice", "Martin",
     "Marketing Manager",
     "", "web", "false", "2026-02-01T12:00:00"),
    # C5's email_opt_out is blank: null, not false (a fit rule on it matches
    # only is_null / not_in)
    ("C5", "", "eve.novak@outlook.com", "Eve", "Novak", "",
     "", "", "", "2026-03-01T12:00:00"),
    # C6 is created after D: not scored on D, scored on D + 1.
    ("C6", "A1", "frank.wu@northwind-analytics.com", "Frank", "Wu", "Software Engineer",
     "", "", "false", "2026-04-01T08:00:00"),
]

OPPORTUNITIES = [
    # opportunity_id, account_id, product_line, stage, amount, is_won, created_at, closed_at
    ("O1", "A1", "analytics", "closed_won", "12000", "true", "2025-11-01T00:00:00",
     "2026-02-10T15:00:00"),
    ("O2", "A2", "automation", "closed_lost", "5000", "false", "2025-12-01T00:00:00",
     "2026-03-01T00:00:00"),
]

ACTIVITIES = [
    # activity_id, contact_id, activity_type, product_line, occurred_at
    ("X01", "C1", "demo_request", "analytics", "2026-03-31T09:00:00"),
    ("X02", "C1", "pricing_page_view", "", "2026-03-17T10:00:00"),
    ("X03", "C1", "page_view", "automation", "2026-03-30T08:00:00"),
    ("X04", "C1", "page_view", "automation", "2026-03-30T08:05:00"),
    ("X05", "C1", "page_view", "automation", "2026-03-30T08:10:00"),
    ("X06", "C1", "email_open", "", "2026-03-31T23:59:59"),
    ("X07", "C1", "trial_start", "analytics", "2026-04-01T00:00:00"),
    ("X08", "C4", "webinar_register", "", "2026-03-25T15:00:00"),
    ("X11", "C2", "content_download", "analytics", "2026-03-01T10:00:00"),
    ("X12", "C2", "webinar_attend", "", "2026-02-14T16:00:00"),
    ("X13", "C2", "mystery_type", "", "2026-03-30T10:00:00"),
    ("X14", "C2", "demo_request", "analytics", "2026-04-01T10:00:00"),
    ("X15", "C2", "pricing_page_view", "", "2026-04-01T10:05:00"),
    ("X21", "C3", "page_view", "", "2025-11-01T12:00:00"),
    ("X22", "C3", "email_unsubscribe", "", "2026-03-20T08:00:00"),
]
# fmt: on


def _write_csv(path: Path, header: list[str], rows: list[tuple[str, ...]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write_landing(landing: Path) -> None:
    _write_csv(
        landing / "crm" / "accounts.csv",
        [
            "account_id",
            "account_name",
            "domain",
            "industry",
            "employee_count",
            "annual_revenue",
            "country",
        ],
        ACCOUNTS,
    )
    _write_csv(
        landing / "crm" / "contacts.csv",
        [
            "contact_id",
            "account_id",
            "email",
            "first_name",
            "last_name",
            "job_title",
            "country",
            "lead_source",
            "email_opt_out",
            "created_at",
        ],
        CONTACTS,
    )
    _write_csv(
        landing / "crm" / "opportunities.csv",
        [
            "opportunity_id",
            "account_id",
            "product_line",
            "stage",
            "amount",
            "is_won",
            "created_at",
            "closed_at",
        ],
        OPPORTUNITIES,
    )
    _write_csv(
        landing / "marketing" / "activities.csv",
        ["activity_id", "contact_id", "activity_type", "product_line", "occurred_at"],
        ACTIVITIES,
    )


# --------------------------------------------------------------------------
# Expected scores, by hand
# --------------------------------------------------------------------------


def expected_on_d() -> dict[tuple[str, str], dict]:
    """Expected components per (contact, model) on D = 2026-03-31 (unrounded)."""
    ap, an = "all_products", "analytics"
    out: dict[tuple[str, str], dict] = {}

    # C1, Alice: VP (seniority vp), A1 = software, 500 employees (mid_market),
    # revenue 25M, country US (from the account, hers is blank), lead source
    # web, one won opportunity closed 2026-02-10 (before the end of D).
    # Activities on D (ages): demo_request 0, pricing_page_view 14,
    # 3 page_view 1 (product line automation), email_open 0 (23:59:59 on D
    # counts), webinar_register 6 (her duplicate C4's). trial_start at
    # 00:00 on D + 1 does not count. Last positive activity on D: no penalty.
    out[("C1", ap)] = {
        "fit": {
            r: FIT[(ap, r)]
            for r in (
                "seniority_vp",
                "target_industry",
                "company_size_sweet_spot",
                "revenue_10m_plus",
                "priority_country",
                "existing_customer",
                "inbound_source",
            )
        },
        "activities": {
            "demo_request": capped(ap, "demo_request", decayed(ap, "demo_request", 0)),
            "pricing_page_view": capped(
                ap, "pricing_page_view", decayed(ap, "pricing_page_view", 14)
            ),
            "page_view": capped(ap, "page_view", decayed(ap, "page_view", 1, count=3)),
            "email_open": capped(ap, "email_open", decayed(ap, "email_open", 0)),
            "webinar_register": capped(ap, "webinar_register", decayed(ap, "webinar_register", 6)),
        },
        "inactivity": {},
        "segment": "mid_market",
    }
    # Analytics model: the automation page views are not its product line;
    # its rulebook has no revenue or lead-source rule, and "VP of Marketing"
    # is not a data persona.
    out[("C1", an)] = {
        "fit": {
            r: FIT[(an, r)]
            for r in (
                "seniority_vp",
                "target_industry",
                "company_size_sweet_spot",
                "priority_country",
                "existing_customer",
            )
        },
        "activities": {
            "demo_request": capped(an, "demo_request", decayed(an, "demo_request", 0)),
            "pricing_page_view": capped(
                an, "pricing_page_view", decayed(an, "pricing_page_view", 14)
            ),
            "email_open": capped(an, "email_open", decayed(an, "email_open", 0)),
            "webinar_register": capped(an, "webinar_register", decayed(an, "webinar_register", 6)),
        },
        "inactivity": {},
        "segment": "mid_market",
    }

    # C2, Bob: "Senior Data Analyst" (individual contributor), gmail (free),
    # A2 retail, 50 employees (smb), FR, lead source event, lost opportunity.
    # content_download age 30, webinar_attend age 45, mystery_type scores 0.
    # Last positive activity 2026-03-01: 30 days -> inactive_30d once; no web
    # activity ever: 75 days since created_at 2026-01-15 -> no_web_visit_45d.
    for model, rules in (
        (ap, ("priority_country", "free_email", "inbound_source")),
        (an, ("data_persona", "target_industry", "priority_country", "free_email")),
    ):
        out[("C2", model)] = {
            "fit": {r: FIT[(model, r)] for r in rules},
            "activities": {
                "content_download": capped(
                    model, "content_download", decayed(model, "content_download", 30)
                ),
                "webinar_attend": capped(
                    model, "webinar_attend", decayed(model, "webinar_attend", 45)
                ),
            },
            "inactivity": {
                "inactive_30d": inactive(model, "inactive_30d", 30),
                "no_web_visit_45d": inactive(model, "no_web_visit_45d", 75),
            },
            "segment": "smb",
        }

    # C3, Carla: CTO (c_level), A3 healthcare, 5000 employees (enterprise;
    # between 200|5000 is inclusive), revenue 500M, DE, partner. page_view
    # 150 days old (inside the 180-day lookback of all_products, outside the
    # 120 of analytics), email_unsubscribe age 11 (no decay, capped). Last
    # positive activity 150 days ago: inactive_30d 5 times + no_web_visit_45d,
    # but the penalty floor (engagement <= 0) makes the penalty 0.
    out[("C3", ap)] = {
        "fit": {
            r: FIT[(ap, r)]
            for r in (
                "seniority_c_level",
                "target_industry",
                "company_size_sweet_spot",
                "revenue_10m_plus",
                "priority_country",
                "inbound_source",
            )
        },
        "activities": {
            "page_view": capped(ap, "page_view", decayed(ap, "page_view", 150)),
            "email_unsubscribe": capped(
                ap, "email_unsubscribe", decayed(ap, "email_unsubscribe", 11)
            ),
        },
        "inactivity": {
            "inactive_30d": inactive(ap, "inactive_30d", 150),
            "no_web_visit_45d": inactive(ap, "no_web_visit_45d", 150),
        },
        "segment": "enterprise",
    }
    out[("C3", an)] = {
        "fit": {
            r: FIT[(an, r)]
            for r in (
                "seniority_c_level",
                "target_industry",
                "company_size_sweet_spot",
                "priority_country",
            )
        },
        "activities": {
            "email_unsubscribe": capped(
                an, "email_unsubscribe", decayed(an, "email_unsubscribe", 11)
            ),
        },
        "inactivity": {
            "inactive_30d": inactive(an, "inactive_30d", 150),
            "no_web_visit_45d": inactive(an, "no_web_visit_45d", 150),
        },
        "segment": "enterprise",
    }

    # C4, the duplicate: quarantined, scored on its own fit (Marketing Manager
    # at A1, lead source web), no activities (its webinar counts for C1), so
    # its inactivity penalty is floored to 0.
    out[("C4", ap)] = {
        "fit": {
            r: FIT[(ap, r)]
            for r in (
                "seniority_manager",
                "target_industry",
                "company_size_sweet_spot",
                "revenue_10m_plus",
                "priority_country",
                "existing_customer",
                "inbound_source",
            )
        },
        "activities": {},
        "inactivity": {},
        "segment": "mid_market",
        "quarantined": True,
    }
    out[("C4", an)] = {
        "fit": {
            r: FIT[(an, r)]
            for r in (
                "seniority_manager",
                "target_industry",
                "company_size_sweet_spot",
                "priority_country",
                "existing_customer",
            )
        },
        "activities": {},
        "inactivity": {},
        "segment": "mid_market",
        "quarantined": True,
    }

    # C5, Eve: no account (segment unknown -> the `*` thresholds), no title,
    # outlook.com (free), no country, no activity.
    for model in (ap, an):
        out[("C5", model)] = {
            "fit": {r: FIT[(model, r)] for r in ("job_title_missing", "free_email")},
            "activities": {},
            "inactivity": {},
            "segment": "unknown",
        }
    return out


def expected_c2_on_d1() -> dict[str, Decimal]:
    """C2 on D + 1: demo_request and pricing_page_view at 10:00 on D + 1 (age 0);
    content_download age 31, webinar_attend age 46; last positive activity on
    D + 1 and a web visit (pricing page): no inactivity rule fires."""
    scores = {}
    for model, rules in (
        ("all_products", ("priority_country", "free_email", "inbound_source")),
        ("analytics", ("data_persona", "target_industry", "priority_country", "free_email")),
    ):
        engagement = (
            capped(model, "demo_request", decayed(model, "demo_request", 0))
            + capped(model, "pricing_page_view", decayed(model, "pricing_page_view", 0))
            + capped(model, "content_download", decayed(model, "content_download", 31))
            + capped(model, "webinar_attend", decayed(model, "webinar_attend", 46))
        )
        scores[model] = to_cents(fit(model, *rules) + engagement)
    return scores


def score_of(expected: dict) -> tuple[Decimal, Decimal, Decimal]:
    fit_points = sum(expected["fit"].values())
    engagement_points = sum(expected["activities"].values())
    engagement = engagement_points + penalty(
        sum(expected["inactivity"].values()), engagement_points
    )
    return to_cents(fit_points), to_cents(engagement), to_cents(fit_points + engagement)


# --------------------------------------------------------------------------
# Helpers on the warehouse
# --------------------------------------------------------------------------


def _query(settings: Settings, sql: str) -> list[dict]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def _table_hash(settings: Settings, table: str, where: str = "true") -> str:
    rows = _query(settings, f"select * from {table} where {where}")
    text = json.dumps(sorted(json.dumps(r, default=str, sort_keys=True) for r in rows))
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def scored_warehouse(settings: Settings, run_dbt: Callable) -> Callable[..., None]:
    """Load the hand-built landing set; return a function that scores a date."""
    write_landing(settings.landing_dir)
    load_landing(settings)
    con = connect(settings.warehouse_path)
    try:
        load_reference_lists(con)
    finally:
        con.close()
    # The email checks run in Python before dbt (the quality gate's input).
    check_emails(settings)

    def score(date: str, command: str = "run") -> None:
        # The first call is a `build` (seeds, models, unit and data tests,
        # among them assert_components_sum_to_score); later ones `run` the
        # models only, which keeps this file within its time budget.
        run_dbt(command, *SCORING, "--vars", f"{{score_date: {date}}}")

    return score


# --------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------


def test_scores_components_rescoring_and_handoffs(
    settings: Settings, scored_warehouse: Callable[..., None]
) -> None:
    expected = expected_on_d()

    # ---- score D ---------------------------------------------------------
    scored_warehouse(D, "build")
    scores = {
        (r["contact_id"], r["model_id"]): r
        for r in _query(settings, "select * from marts.lead_scores")
    }
    columns = [
        r["column_name"]
        for r in _query(
            settings,
            "select column_name from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'lead_score_history' "
            "order by ordinal_position",
        )
    ]
    assert columns[: len(SPEC_COLUMNS)] == SPEC_COLUMNS

    opt_out = _query(
        settings,
        "select contact_id, email_opt_out from intermediate.int_scoring__contact_profile "
        "where contact_id in ('C1', 'C5') order by 1",
    )
    assert [(r["contact_id"], r["email_opt_out"]) for r in opt_out] == [("C1", False), ("C5", None)]

    # C6 was created after D; every other contact is scored under every model.
    assert set(scores) == set(expected)
    assert {m for _, m in scores} == set(MODELS)
    assert {str(r["score_date"]) for r in scores.values()} == {D}

    for key, exp in expected.items():
        row = scores[key]
        fit_score, engagement_score, score = score_of(exp)
        assert (row["fit_score"], row["engagement_score"], row["score"]) == (
            fit_score,
            engagement_score,
            score,
        ), key
        model = key[1]
        warm_at, mql_at = thresholds(model, exp["segment"])
        assert row["segment"] == exp["segment"], key
        assert (row["warm_at"], row["mql_at"]) == (warm_at, mql_at), key
        assert row["is_quarantined"] is exp.get("quarantined", False), key
        assert row["stage"] == stage(model, exp["segment"], score, exp.get("quarantined", False)), (
            key
        )
        assert row["fit_grade"] == band(model, "fit", fit_score), key
        assert row["engagement_level"] == band(model, "engagement", engagement_score), key
        assert row["matrix_cell"] == row["fit_grade"] + row["engagement_level"], key

    # The stages this data set is built to show (if a rulebook edit changes
    # them, the data set no longer covers every stage: adapt the data).
    assert scores[("C1", "all_products")]["stage"] == "mql"
    assert scores[("C2", "all_products")]["stage"] == "cold"
    assert scores[("C4", "all_products")]["stage"] == "disqualified"
    assert scores[("C5", "all_products")]["fit_grade"] == band(
        "all_products", "fit", Decimal("-1e9")
    )

    # Components: per contact and model they sum exactly to the score; each is
    # the expected (rounded) value, give or take the one-cent residual.
    components: dict[tuple[str, str], dict[tuple[str, str], Decimal]] = {}
    for r in _query(settings, "select * from marts.lead_score_components"):
        assert str(r["score_date"]) == D
        components.setdefault((r["contact_id"], r["model_id"]), {})[
            (r["component_type"], r["component_id"])
        ] = r["points"]
    for key, exp in expected.items():
        got = components.get(key, {})
        assert sum(got.values(), Decimal(0)) == scores[key]["score"], key
        engagement_points = sum(exp["activities"].values())
        rules = sum(exp["inactivity"].values())
        scale = penalty(rules, engagement_points) / rules if rules else 0.0
        want = {
            **{("fit_rule", k): v for k, v in exp["fit"].items()},
            **{("activity_type", k): v for k, v in exp["activities"].items()},
            **{("inactivity_rule", k): v * scale for k, v in exp["inactivity"].items()},
        }
        want = {k: v for k, v in want.items() if to_cents(v) != 0}
        assert set(got) == set(want), key
        for component, points in want.items():
            assert abs(got[component] - to_cents(points)) <= CENT, (key, component)

    # The duplicate's webinar counts for C1, not for C4; the unknown type and
    # the activity at 00:00 on D + 1 count for nobody.
    assert ("activity_type", "webinar_register") in components[("C1", "all_products")]
    assert not any(t == "activity_type" for t, _ in components.get(("C4", "all_products"), {}))
    all_ids = {cid for comps in components.values() for _, cid in comps}
    assert "mystery_type" not in all_ids
    assert "trial_start" not in all_ids

    # top_reasons: the three largest positive components, largest first.
    for key, row in scores.items():
        positive = sorted(
            ((points, cid) for (_, cid), points in components.get(key, {}).items() if points > 0),
            key=lambda item: (-item[0], item[1]),
        )[:3]
        want = "; ".join(f"{cid} +{points}" for points, cid in positive) or None
        assert row["top_reasons"] == want, key
    c1 = expected[("C1", "all_products")]
    by_hand = sorted(
        {**c1["fit"], **c1["activities"]}.items(), key=lambda item: (-item[1], item[0])
    )[:3]
    assert [
        reason.split(" +")[0]
        for reason in scores[("C1", "all_products")]["top_reasons"].split("; ")
    ] == [name for name, _ in by_hand]

    # First scored date: every mql is a hand-off.
    handoffs = _query(settings, "select * from marts.mql_handoffs")
    assert {(r["contact_id"], r["model_id"]) for r in handoffs} == {
        key for key, row in scores.items() if row["stage"] == "mql"
    }

    # ---- rescoring D changes nothing --------------------------------------
    history_hash = _table_hash(settings, "marts.lead_score_history")
    components_hash = _table_hash(settings, "marts.lead_score_components")
    scored_warehouse(D)
    assert _table_hash(settings, "marts.lead_score_history") == history_hash
    assert _table_hash(settings, "marts.lead_score_components") == components_hash

    # ---- score D + 1: only contacts that crossed are handed off -----------
    scored_warehouse(D1)
    scores_d1 = {
        (r["contact_id"], r["model_id"]): r
        for r in _query(settings, "select * from marts.lead_scores")
    }
    assert {str(r["score_date"]) for r in scores_d1.values()} == {D1}
    assert {c for c, _ in scores_d1} == {"C1", "C2", "C3", "C4", "C5", "C6"}
    c2_d1 = expected_c2_on_d1()
    for model, score in c2_d1.items():
        assert scores_d1[("C2", model)]["score"] == score
        assert scores_d1[("C2", model)]["stage"] == stage(model, "smb", score) == "mql"
    handoffs_d1 = _query(settings, f"select * from marts.mql_handoffs where score_date = '{D1}'")
    crossed = {
        key
        for key, row in scores_d1.items()
        if row["stage"] == "mql" and scores.get(key, {}).get("stage") != "mql"
    }
    assert {(r["contact_id"], r["model_id"]) for r in handoffs_d1} == crossed
    assert {("C2", "all_products"), ("C2", "analytics")} <= crossed
    assert not any(c == "C1" for c, _ in crossed)  # already mql on D
    history_dates = _query(
        settings, "select distinct cast(score_date as varchar) as d from marts.lead_score_history"
    )
    assert {r["d"] for r in history_dates} == {D, D1}

    # ---- backfilling D again: current tables stay on D + 1 ----------------
    d1_components_hash = _table_hash(settings, "marts.lead_score_components")
    scored_warehouse(D)
    assert _table_hash(settings, "marts.lead_score_history", f"score_date = '{D}'") == history_hash
    assert {str(r["score_date"]) for r in _query(settings, "select * from marts.lead_scores")} == {
        D1
    }
    assert _table_hash(settings, "marts.lead_score_components") == d1_components_hash
    assert len(
        _query(settings, f"select * from marts.mql_handoffs where score_date = '{D1}'")
    ) == len(handoffs_d1)
    assert _components_mismatching_scores(settings) == []


def _components_mismatching_scores(settings: Settings) -> list[dict]:
    """The current scores whose components do not sum to them."""
    return _query(
        settings,
        """
        select s.contact_id, s.model_id
        from marts.lead_scores as s
        left join (
            select contact_id, model_id, sum(points) as points
            from marts.lead_score_components
            group by all
        ) as c using (contact_id, model_id)
        where coalesce(c.points, 0) != s.score
        """,
    )


def test_a_full_refresh_of_an_older_date_is_not_a_backfill(
    settings: Settings, scored_warehouse: Callable[..., None], run_dbt: Callable
) -> None:
    """`--full-refresh` rebuilds history with the run's date only: the date is
    then the latest, so the components are that date's, not none (the
    backfill test asks history before it is rebuilt)."""
    scored_warehouse(D, "build")
    scored_warehouse(D1)
    run_dbt("run", "--full-refresh", *SCORING, "--vars", f"{{score_date: {D}}}")
    dates = _query(
        settings,
        "select distinct cast(score_date as varchar) as d from marts.lead_score_components",
    )
    assert dates == [{"d": D}]
    assert _components_mismatching_scores(settings) == []


def test_a_backfill_after_a_run_that_stopped_past_the_components_names_the_date_to_rescore(
    settings: Settings, scored_warehouse: Callable[..., None], run_dbt: Callable
) -> None:
    """A run that wrote the components and stopped before history (a failed
    test, a killed process) leaves components that are not the breakdown of
    lead_scores: of the same date under a changed rulebook, or of a later
    date. A backfill keeps the components as they are: it stops before
    history, naming a pair that differs and the date to score again, instead
    of failing the sum test on every score after writing its history."""
    scored_warehouse(D, "build")
    history_hash = _table_hash(settings, "marts.lead_score_history")
    earlier = "2026-03-30"

    def backfill_error() -> str:
        # the components and what is built from them (the models upstream are
        # rebuilt as usual in a real backfill; they take the time, not the check)
        result = run_dbt(
            "run",
            "--select",
            "lead_score_components+",
            "--vars",
            f"{{score_date: {earlier}}}",
            check=False,
        )
        assert result.returncode != 0
        assert _table_hash(settings, "marts.lead_score_history") == history_hash
        return " ".join(result.stdout.split())

    advice = (
        f"A run stopped after writing the components, or only part of the project was built. "
        f"A backfill of {earlier} keeps the components as they are, so it would publish scores "
        f"and components that disagree. Score {D} again first (leadscore run --date {D}"
    )
    # A rescore of D under a changed rule stopped after the components: same
    # date, other points (one component of C1 is 5 points higher).
    con = connect(settings.warehouse_path)
    try:
        con.execute(
            "update marts.lead_score_components set points = points + 5 "
            "where contact_id = 'C1' and model_id = 'all_products' and component_id = ("
            "  select min(component_id) from marts.lead_score_components "
            "  where contact_id = 'C1' and model_id = 'all_products')"
        )
        (score,) = con.execute(
            "select score from marts.lead_scores "
            "where contact_id = 'C1' and model_id = 'all_products'"
        ).fetchone()
    finally:
        con.close()
    assert (
        f"lead_score_components does not match {D}, the latest date in lead_score_history, "
        f"which lead_scores shows: 1 contact x model pair(s) differ, e.g. contact C1, model "
        f"all_products: score {score}, components {score + 5}. {advice}), then backfill. "
        "lead_score_history was not changed."
    ) in backfill_error()

    # D + 1 stopped right after the components mart: they are a date ahead.
    run_dbt("run", "--select", "lead_score_components", "--vars", f"{{score_date: {D1}}}")
    error = backfill_error()
    assert f"lead_score_components does not match {D}, the latest date in" in error
    assert (
        f"; the components are of {D1}. {advice} or {D1}, the date of the run that stopped), "
        "then backfill. lead_score_history was not changed."
    ) in error

    # Scoring the latest date again makes the components its own; the
    # backfill then runs, and components and scores agree.
    scored_warehouse(D)
    scored_warehouse(earlier)
    dates = _query(
        settings,
        "select distinct cast(score_date as varchar) as d from marts.lead_score_components",
    )
    assert dates == [{"d": D}]
    assert _components_mismatching_scores(settings) == []
    history_dates = _query(
        settings, "select distinct cast(score_date as varchar) as d from marts.lead_score_history"
    )
    assert {r["d"] for r in history_dates} == {earlier, D}


def test_a_backfill_computes_the_components_once(
    settings: Settings, scored_warehouse: Callable[..., None], run_dbt: Callable
) -> None:
    """A backfill's top reasons read the components from the view: once, not
    once per reader of them (each would compute every component again)."""
    scored_warehouse(D1, "build")
    scored_warehouse(D)
    target = settings.warehouse_path.parent / "dbt_target"
    compiled = next(target.rglob("compiled/**/lead_score_history.sql")).read_text()
    assert "int_scoring__score_components" in compiled  # the backfill's path
    con = connect(settings.warehouse_path, read_only=True)
    try:
        plan = "\n".join(row[1] for row in con.execute("explain " + compiled).fetchall())
        view_plan = "\n".join(
            row[1]
            for row in con.execute(
                "explain select * from intermediate.int_scoring__score_components"
            ).fetchall()
        )
    finally:
        con.close()
    # the history's own read of the scores comes on top of the view's
    for table, extra in (
        ("int_scoring__fit_rule_matches", 0),
        ("int_scoring__activity_type_points", 0),
        ("int_scoring__contact_scores", 1),
    ):
        assert plan.count(table) == view_plan.count(table) + extra, (table, plan)


def test_every_mart_and_column_is_described(settings: Settings, run_dbt: Callable) -> None:
    """Every model under models/marts has a description and documents columns,
    each with a description (CONVENTIONS: one source of truth, documented)."""
    run_dbt("parse")
    manifest_path = settings.warehouse_path.parent / "dbt_target" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    marts = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["original_file_path"].startswith("models/marts/")
    ]
    assert {"lead_scores", "lead_score_history", "lead_score_components", "mql_handoffs"} <= {
        node["name"] for node in marts
    }
    problems = []
    for node in marts:
        if not node["description"].strip():
            problems.append(f"{node['name']}: no description")
        if not node["columns"]:
            problems.append(f"{node['name']}: no documented columns")
        for column in node["columns"].values():
            if not column["description"].strip():
                problems.append(f"{node['name']}.{column['name']}: no description")
    assert not problems, "\n".join(problems)
