"""Baseline 2, "what users write": the daily score in straightforward pandas.

    python bench/baseline_pandas.py --landing DIR --date 2026-11-21 \
        [--seeds seeds/] [--flags DIR] [--out scores.parquet]

The same semantics as bench/baseline_duckdb.py (SPEC sections 3 and 4),
written the way an analyst would in a notebook: read the files into
DataFrames, merge, groupby, vectorised column arithmetic. Loops run over
rulebook rows (a handful of fit rules and seniority keywords), never over
contacts or activities. No chunking, no dtype tuning beyond reading only the
columns it needs: at 1M contacts / 30M activities it is expected to be slow
and to need a lot of memory, which is what the bench measures.

Takes the same optional `--flags DIR` (contact_flags.parquet,
activity_flags.parquet) as the DuckDB baseline; see bench/README.md.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _landing import (
    COLUMN_TYPES,
    FALSE_WORDS,
    PROFILE_FIELDS,
    SEEDS_DIR,
    TRUE_WORDS,
    BaselineResult,
    Stopwatch,
    fail,
    free_email_domains,
    landing_files,
    parse_date,
    peak_rss_mb,
)

# ------------------------------------------------------------------ reading


def _clean_text(series: pd.Series) -> pd.Series:
    """Trimmed text, empty -> missing."""
    text = series.astype("string").str.strip()
    return text.mask(text == "")


def _to_timestamp(series: pd.Series) -> pd.Series:
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    parsed = pd.to_datetime(_clean_text(series), utc=True, errors="coerce", format="ISO8601")
    return parsed.dt.tz_localize(None)


def _to_boolean(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series):
        return series.astype("boolean")
    text = _clean_text(series).str.lower()
    out = pd.Series(pd.NA, index=series.index, dtype="boolean")
    out[text.isin(TRUE_WORDS)] = True
    out[text.isin(FALSE_WORDS)] = False
    return out


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    for column in df.columns:
        kind = COLUMN_TYPES.get(column)
        if kind == "timestamp":
            df[column] = _to_timestamp(df[column])
        elif kind == "boolean":
            df[column] = _to_boolean(df[column])
        elif kind == "bigint":
            df[column] = pd.to_numeric(df[column], errors="coerce").round().astype("Int64")
        elif kind == "double":
            df[column] = pd.to_numeric(df[column], errors="coerce").astype("float64")
    return df


def read_landing(landing_dir: Path, entity: str, columns: list[str]) -> pd.DataFrame:
    """Every file of an entity, the wanted columns (missing ones as nulls), typed."""
    frames = []
    for rank, path in enumerate(landing_files(landing_dir, entity)):
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            present = set(pq.read_schema(path).names)
            df = pd.read_parquet(path, columns=[c for c in columns if c in present])
        elif suffix == ".csv":
            df = pd.read_csv(path, dtype=str, keep_default_na=False, usecols=lambda c: c in columns)
        else:
            df = pd.read_json(path, lines=True, dtype=False)
            df = df[[c for c in columns if c in df.columns]]
        for column in columns:
            if column not in df.columns:
                df[column] = None
        df["_file_rank"] = rank
        frames.append(_typed(df[[*columns, "_file_rank"]]))
    if not frames:
        return pd.DataFrame(columns=[*columns, "_file_rank"])
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def read_seed(seeds_dir: Path, name: str) -> pd.DataFrame:
    df = pd.read_csv(seeds_dir / f"{name}.csv", dtype=str, keep_default_na=False)
    return df.apply(lambda col: col.str.strip())


def _bool_text(series: pd.Series) -> pd.Series:
    return series.str.lower().isin(TRUE_WORDS)


def _num(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series.replace("", np.nan), errors="coerce").astype("float64")


def round_half_away(values: pd.Series | np.ndarray) -> np.ndarray:
    """round(x, 2) as SQL engines do it (half away from zero), not numpy's half-even."""
    scaled = np.abs(np.asarray(values, dtype="float64")) * 100.0
    whole = np.floor(scaled)
    rounded = whole + ((scaled - whole) >= 0.5)
    return np.copysign(rounded, values) / 100.0


# ------------------------------------------------------------------ scoring


def score(
    landing_dir: Path,
    score_date: str,
    seeds_dir: Path = SEEDS_DIR,
    flags_dir: Path | None = None,
    watch: Stopwatch | None = None,
) -> pd.DataFrame:
    """Every contact known on score_date x every active model, with score and stage."""
    watch = watch or Stopwatch()
    day = pd.Timestamp(score_date)
    cutoff = day + pd.Timedelta(days=1)

    # ---- rulebook
    models = read_seed(seeds_dir, "scoring_models")
    models = models[_bool_text(models["is_active"])].copy()
    models["product_line"] = models["product_line"].str.lower().replace("", np.nan)
    models["lookback_days"] = _num(models["lookback_days"])
    models = models[["model_id", "product_line", "lookback_days"]]

    fit_rules = read_seed(seeds_dir, "fit_rules")
    fit_rules = fit_rules[fit_rules["model_id"].isin(models["model_id"])].copy()
    fit_rules["operator"] = fit_rules["operator"].str.lower()
    fit_rules["points"] = _num(fit_rules["points"])

    engagement_rules = read_seed(seeds_dir, "engagement_rules")
    engagement_rules["activity_type"] = engagement_rules["activity_type"].str.lower()
    engagement_rules["channel"] = engagement_rules["channel"].str.lower()
    for column in ("points", "half_life_days", "cap"):
        engagement_rules[column] = _num(engagement_rules[column])
    engagement_rules = engagement_rules.merge(models, on="model_id")
    engagement_rules = engagement_rules.rename(columns={"product_line": "model_product_line"})

    inactivity_rules = read_seed(seeds_dir, "inactivity_rules")
    inactivity_rules = inactivity_rules[
        inactivity_rules["model_id"].isin(models["model_id"])
    ].copy()
    inactivity_rules["channel"] = inactivity_rules["channel"].str.lower()
    inactivity_rules["window_days"] = _num(inactivity_rules["window_days"])
    inactivity_rules["points"] = _num(inactivity_rules["points"])
    inactivity_rules["repeats"] = _bool_text(inactivity_rules["repeats"])

    segments = read_seed(seeds_dir, "segments")
    segments["min_employees"] = _num(segments["min_employees"])
    segments["max_employees"] = _num(segments["max_employees"])
    thresholds = read_seed(seeds_dir, "thresholds")
    thresholds["warm_at"] = _num(thresholds["warm_at"])
    thresholds["mql_at"] = _num(thresholds["mql_at"])
    keywords = read_seed(seeds_dir, "seniority_keywords")
    keywords["priority"] = _num(keywords["priority"])

    # ---- landing
    accounts = read_landing(
        landing_dir, "accounts",
        ["account_id", "account_name", "domain", "industry", "employee_count",
         "annual_revenue", "country", "created_at", "updated_at"],
    )  # fmt: skip
    contacts = read_landing(
        landing_dir, "contacts",
        ["contact_id", "account_id", "email", "first_name", "last_name", "job_title", "phone",
         "country", "lead_source", "email_opt_out", "created_at", "updated_at"],
    )  # fmt: skip
    opportunities = read_landing(
        landing_dir, "opportunities", ["account_id", "amount", "closed_at", "is_won"]
    )
    if accounts.empty and contacts.empty:
        fail(f"baseline_pandas: no landing files in {landing_dir}")
    accounts["account_id"] = accounts["account_id"].astype("string").str.strip()
    contacts["contact_id"] = contacts["contact_id"].astype("string").str.strip()
    contacts["account_id"] = _clean_text(contacts["account_id"])
    opportunities["account_id"] = opportunities["account_id"].astype("string").str.strip()
    watch.lap("read crm")

    # ---- duplicates: same trimmed lower-cased email; canonical = earliest created, smallest id
    contacts["email_key"] = _clean_text(contacts["email"]).str.lower()
    first = (
        contacts.dropna(subset=["email_key"])
        .sort_values(["created_at", "contact_id"])
        .groupby("email_key", sort=False)
        .agg(canonical_contact_id=("contact_id", "first"))
        .reset_index()
    )
    duplicate_map = contacts[["contact_id", "created_at", "email_key"]].merge(
        first, on="email_key", how="left"
    )
    duplicate_map["canonical_contact_id"] = duplicate_map["canonical_contact_id"].fillna(
        duplicate_map["contact_id"]
    )
    duplicate_map = duplicate_map[["contact_id", "canonical_contact_id", "created_at"]]

    # ---- profile of the contacts known on D
    known = contacts[contacts["created_at"] < cutoff].merge(
        duplicate_map[["contact_id", "canonical_contact_id"]], on="contact_id"
    )
    won = opportunities[(opportunities["is_won"] == True) & (opportunities["closed_at"] < cutoff)]  # noqa: E712
    won = won.groupby("account_id").agg(
        won_opportunities=("account_id", "size"), won_amount=("amount", "sum")
    )
    profile = known.merge(
        accounts.drop(columns="_file_rank"), on="account_id", how="left", suffixes=("", "_account")
    )
    profile = profile.merge(won, left_on="account_id", right_index=True, how="left")
    profile["won_opportunities"] = profile["won_opportunities"].fillna(0)
    profile["won_amount"] = profile["won_amount"].fillna(0)
    for column in ("first_name", "last_name", "job_title", "phone", "lead_source",
                   "account_name", "domain", "industry"):  # fmt: skip
        profile[column] = _clean_text(profile[column])
    profile["country"] = _clean_text(profile["country"]).fillna(
        _clean_text(profile["country_account"])
    )
    profile["updated_at"] = profile["updated_at"].fillna(profile["updated_at_account"])
    email = profile["email"].astype("string")
    profile["email_domain"] = _clean_text(
        email.str.rsplit("@", n=1).str[-1].where(email.str.contains("@", regex=False))
    ).str.lower()
    free = set(free_email_domains())
    profile["is_free_email"] = profile["email_domain"].isin(free).astype("boolean")
    profile.loc[profile["email_domain"].isna(), "is_free_email"] = pd.NA

    # seniority: whole-word keyword match on the title, highest priority wins
    titles = pd.Series(profile["job_title"].dropna().unique(), dtype="string")
    padded = " " + titles.str.lower().str.replace("[^a-z0-9]+", " ", regex=True).str.strip() + " "
    keywords["padded"] = (
        " "
        + keywords["keyword"].str.lower().str.replace("[^a-z0-9]+", " ", regex=True).str.strip()
        + " "
    )
    title_seniority = pd.Series(pd.NA, index=titles.index, dtype="string")
    for keyword in keywords.sort_values(
        ["priority", "padded"], ascending=[False, True]
    ).itertuples():
        hit = title_seniority.isna() & padded.str.contains(keyword.padded, regex=False)
        title_seniority[hit] = keyword.seniority
    seniority_of = dict(zip(titles, title_seniority.fillna("individual_contributor"), strict=True))
    profile["seniority"] = profile["job_title"].map(seniority_of).astype("string")

    # segment from the account's employee_count
    profile["segment"] = "unknown"
    employees = profile["employee_count"].astype("float64")
    for seg in segments.itertuples():
        inside = (employees >= seg.min_employees) & (
            np.isnan(seg.max_employees) | (employees < seg.max_employees)
        )
        profile.loc[inside.fillna(False).to_numpy(dtype=bool), "segment"] = seg.segment
    watch.lap("profile")

    # ---- fit: one vectorised mask per rule
    text_cache: dict[str, tuple[pd.Series, pd.Series]] = {}

    def field_values(field: str) -> tuple[pd.Series, pd.Series]:
        if field not in text_cache:
            if field not in PROFILE_FIELDS:
                fail(f"baseline_pandas: fit rule on unknown field {field!r}")
            raw = profile[field]
            kind = PROFILE_FIELDS[field]
            if kind == "boolean":
                text = raw.astype("boolean").map({True: "true", False: "false"}).astype("string")
            elif kind == "numeric":
                numeric = raw.astype("float64")
                # text as SQL prints it: integers without a decimal point
                text = pd.Series(
                    np.where(
                        numeric == np.floor(numeric),
                        numeric.astype("Int64").astype("string"),
                        numeric.astype("string"),
                    ),
                    index=raw.index,
                    dtype="string",
                ).mask(numeric.isna())
            else:
                text = raw.astype("string")
            text = _clean_text(text).str.lower()
            numeric = (
                raw.astype("float64") if kind == "numeric" else pd.Series(np.nan, index=raw.index)
            )
            text_cache[field] = (text, numeric)
        return text_cache[field]

    fit = pd.DataFrame(index=profile.index)
    for model_id in models["model_id"]:
        fit[model_id] = 0.0
    for rule in fit_rules.itertuples():
        text, numeric = field_values(rule.field)
        value = rule.value
        value_text = value.strip().lower()
        items = [item.strip() for item in value.lower().split("|")]
        value_num = pd.to_numeric(value, errors="coerce")
        present = text.notna()
        op = rule.operator
        if op == "is_null":
            match = ~present
        elif op == "is_not_null":
            match = present
        elif op == "not_in":
            match = ~present | ~text.isin(items)
        elif op == "equals":
            match = (text == value_text) | (numeric == value_num)
        elif op == "in":
            match = text.isin(items)
        elif op == "contains":
            match = text.str.contains(value_text, regex=False)
        elif op == "regex":
            with warnings.catch_warnings():  # groups in a rule's pattern are fine here
                warnings.simplefilter("ignore", UserWarning)
                match = text.str.contains(value, case=False, regex=True)
        elif op == "between":
            lo, hi = (pd.to_numeric(x, errors="coerce") for x in items[:2])
            match = (numeric >= lo) & (numeric <= hi)
        elif op == "gte":
            match = numeric >= value_num
        elif op == "lt":
            match = numeric < value_num
        else:
            match = pd.Series(False, index=profile.index)
        if op not in ("is_null", "not_in"):
            match = match & present
        match = match.fillna(False).to_numpy(dtype=bool)
        fit[rule.model_id] += np.where(match, rule.points, 0.0)
    fit = fit.assign(contact_id=profile["contact_id"].to_numpy()).melt(
        id_vars="contact_id", var_name="model_id", value_name="fit_points"
    )
    watch.lap("fit")

    # ---- engagement
    activities = read_landing(
        landing_dir, "activities",
        ["activity_id", "contact_id", "activity_type", "product_line", "occurred_at"],
    )  # fmt: skip
    watch.lap("read activities")
    activities["activity_id"] = activities["activity_id"].astype("string").str.strip()
    activities = activities[activities["occurred_at"] < cutoff]
    if activities["_file_rank"].nunique() > 1:
        # a re-delivered activity id: the later file wins
        activities = activities.sort_values("_file_rank").drop_duplicates(
            "activity_id", keep="last"
        )
    if flags_dir and (Path(flags_dir) / "activity_flags.parquet").exists():
        bots = pd.read_parquet(Path(flags_dir) / "activity_flags.parquet", columns=["activity_id"])
        activities = activities[~activities["activity_id"].isin(bots["activity_id"])]
    activities["contact_id"] = activities["contact_id"].astype("string").str.strip()
    activities["activity_type"] = (
        activities["activity_type"].astype("string").str.strip().str.lower()
    )
    activities["product_line"] = _clean_text(activities["product_line"]).str.lower()
    activities = activities.merge(duplicate_map, on="contact_id")
    # the activity's own contact must be known on D (then its canonical one is)
    activities = activities[activities["created_at"] < cutoff]
    activities["activity_date"] = activities["occurred_at"].dt.floor("D")
    activities["age_days"] = (day - activities["activity_date"]).dt.days

    valued = activities[
        ["canonical_contact_id", "activity_type", "product_line", "activity_date", "age_days"]
    ].merge(engagement_rules, on="activity_type")
    valued = valued[
        valued["model_product_line"].isna()
        | valued["product_line"].isna()
        | (valued["product_line"] == valued["model_product_line"])
    ]
    decay = np.where(
        valued["half_life_days"].isna(),
        1.0,
        np.power(0.5, valued["age_days"] / valued["half_life_days"]),
    )
    valued["value"] = np.where(
        valued["age_days"] > valued["lookback_days"], 0.0, valued["points"] * decay
    )
    type_points = (
        valued.groupby(["canonical_contact_id", "model_id", "activity_type"], sort=False)
        .agg(
            decayed=("value", "sum"),
            last_date=("activity_date", "max"),
            channel=("channel", "first"),
            points=("points", "first"),
            cap=("cap", "first"),
        )
        .reset_index()
        .rename(columns={"canonical_contact_id": "contact_id"})
    )
    del valued
    capped = np.where(
        type_points["cap"].isna(),
        type_points["decayed"],
        np.where(
            type_points["points"] >= 0,
            np.minimum(type_points["decayed"], type_points["cap"]),
            np.maximum(type_points["decayed"], type_points["cap"]),
        ),
    )
    type_points["engagement_points"] = capped
    engagement = (
        type_points.groupby(["contact_id", "model_id"], sort=False)["engagement_points"]
        .sum()
        .reset_index()
    )
    watch.lap("engagement")

    # ---- inactivity
    positive = type_points[type_points["points"] > 0]
    last_by_channel = positive.groupby(["contact_id", "model_id", "channel"], sort=False)[
        "last_date"
    ].max()
    last_any = positive.groupby(["contact_id", "model_id"], sort=False)["last_date"].max()
    last_any = (
        last_any.to_frame().assign(channel="any").set_index("channel", append=True)["last_date"]
    )
    last_dates = pd.concat([last_by_channel, last_any]).rename("last_date").reset_index()
    contact_rules = profile[["contact_id", "created_at"]].merge(inactivity_rules, how="cross")
    contact_rules = contact_rules.merge(
        last_dates, on=["contact_id", "model_id", "channel"], how="left"
    )
    since = contact_rules["last_date"].fillna(contact_rules["created_at"].dt.floor("D"))
    days_inactive = (day - since).dt.days.astype("float64")
    multiplier = np.where(
        contact_rules["repeats"], np.floor(days_inactive / contact_rules["window_days"]), 1.0
    )
    contact_rules["inactivity_points"] = np.where(
        days_inactive >= contact_rules["window_days"], contact_rules["points"] * multiplier, 0.0
    )
    inactivity = (
        contact_rules.groupby(["contact_id", "model_id"], sort=False)["inactivity_points"]
        .sum()
        .reset_index()
    )
    watch.lap("inactivity")

    # ---- scores, thresholds, stage
    scores = profile[["contact_id", "canonical_contact_id", "account_id", "segment"]].merge(
        models[["model_id"]], how="cross"
    )
    scores = scores.merge(fit, on=["contact_id", "model_id"], how="left")
    scores = scores.merge(engagement, on=["contact_id", "model_id"], how="left")
    scores = scores.merge(inactivity, on=["contact_id", "model_id"], how="left")
    for column in ("fit_points", "engagement_points", "inactivity_points"):
        scores[column] = scores[column].fillna(0.0)
    scores["penalty"] = np.maximum(
        scores["inactivity_points"], -np.maximum(scores["engagement_points"], 0.0)
    )
    quarantined = scores["contact_id"] != scores["canonical_contact_id"]
    if flags_dir and (Path(flags_dir) / "contact_flags.parquet").exists():
        flagged = pd.read_parquet(Path(flags_dir) / "contact_flags.parquet", columns=["contact_id"])
        quarantined = quarantined | scores["contact_id"].isin(flagged["contact_id"])
    scores["is_quarantined"] = quarantined.astype(bool)

    segment_rows = thresholds[thresholds["segment"] != "*"]
    default_rows = thresholds[thresholds["segment"] == "*"][["model_id", "warm_at", "mql_at"]]
    scores = scores.merge(segment_rows, on=["model_id", "segment"], how="left")
    scores = scores.merge(default_rows, on="model_id", how="left", suffixes=("", "_default"))
    scores["warm_at"] = scores["warm_at"].fillna(scores["warm_at_default"])
    scores["mql_at"] = scores["mql_at"].fillna(scores["mql_at_default"])

    scores["fit_score"] = round_half_away(scores["fit_points"])
    scores["engagement_score"] = round_half_away(scores["engagement_points"] + scores["penalty"])
    scores["score"] = round_half_away(
        scores["fit_points"] + scores["engagement_points"] + scores["penalty"]
    )
    scores["stage"] = np.select(
        [
            scores["is_quarantined"],
            scores["score"] >= scores["mql_at"],
            scores["score"] >= scores["warm_at"],
        ],
        ["disqualified", "mql", "warm"],
        "cold",
    )
    scores["score_date"] = day.date()
    scores["engagement_points"] = round_half_away(scores["engagement_points"])
    scores["penalty"] = round_half_away(scores["penalty"])
    watch.lap("scores")
    return scores[
        ["contact_id", "model_id", "score_date", "account_id", "segment", "fit_score",
         "engagement_points", "penalty", "engagement_score", "score", "warm_at", "mql_at",
         "is_quarantined", "stage"]
    ]  # fmt: skip


def run(
    landing_dir: Path,
    score_date: str,
    out: Path,
    seeds_dir: Path = SEEDS_DIR,
    flags_dir: Path | None = None,
) -> BaselineResult:
    watch = Stopwatch()
    scores = score(Path(landing_dir), score_date, Path(seeds_dir), flags_dir, watch)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    scores.to_parquet(out, index=False)
    watch.lap("write")
    return BaselineResult(
        name="baseline_pandas",
        score_date=score_date,
        seconds=round(watch.total, 3),
        peak_rss_mb=round(peak_rss_mb(), 1),
        rows=len(scores),
        output=str(out),
        phases=watch.phases,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--date", required=True, help="score date D, YYYY-MM-DD")
    parser.add_argument("--seeds", type=Path, default=SEEDS_DIR)
    parser.add_argument("--flags", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("baseline_pandas_scores.parquet"))
    args = parser.parse_args(argv)
    parse_date(args.date)
    run(args.landing, args.date, args.out, args.seeds, args.flags).emit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
