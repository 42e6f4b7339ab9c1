"""The run report: one self-contained HTML page per score date, read from the
PUBLISHED DuckDB file (what BI sees), written next to it in `reports/`.

Sections: score distribution per model, stage counts, the fit x engagement
matrix, the hand-offs of the date, quarantine counts by flag and conversion by
score band (score_performance). The page has no external assets and no
JavaScript; every value is HTML-escaped. The key figures are returned as a
flat dict of numbers, which the `published/run_report` asset attaches as
Dagster metadata.
"""

import datetime as dt
import html
import math
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from dagster import (
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    asset,
)

from orchestration.partitions import one_date_per_run, score_date_partitions
from orchestration.resources import LeadscoreResource, connect

REPORTS_DIR_NAME = "reports"
LATEST_NAME = "latest.html"
REPORT_NAME = re.compile(r"^run_report_(\d{4}-\d{2}-\d{2})\.html$")
STAGES = ("mql", "warm", "cold", "disqualified")
#: Hand-offs listed by name in the report; the count always covers all of them.
MAX_HANDOFF_ROWS = 50
#: Buckets the score histogram aims for (the width is rounded to 1, 2 or 5 x 10^k).
HISTOGRAM_BUCKETS = 10


class ReportError(Exception):
    """The published file cannot back a report for the requested date."""


def esc(value: Any) -> str:
    """Every value that reaches the page goes through here."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt_number(value: Any, decimals: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{float(value):.{decimals}f}"


def fmt_rate(value: Any) -> str:
    return "-" if value is None else f"{float(value) * 100:.1f}%"


def report_path(publish_path: Path, score_date: str) -> Path:
    """Where the report of a score date goes: `<publish dir>/reports/run_report_<D>.html`."""
    return publish_path.parent / REPORTS_DIR_NAME / f"run_report_{score_date}.html"


@dataclass
class _Page:
    """The sections written so far and the key figures found on the way."""

    sections: list[str] = field(default_factory=list)
    figures: dict[str, int | float] = field(default_factory=dict)

    def section(self, section_id: str, title: str, body: str) -> None:
        self.sections.append(
            f'<section id="{esc(section_id)}">\n<h2>{esc(title)}</h2>\n{body}\n</section>'
        )


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[dict]:
    cursor = con.execute(sql, list(params))
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], caption: str = "") -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "\n".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in rows)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table>"


def _missing(table: str) -> str:
    return f'<p class="missing">The published file has no <code>{esc(table)}</code> table.</p>'


def nice_bucket_width(low: float, high: float, buckets: int = HISTOGRAM_BUCKETS) -> float:
    """A round bucket width (1, 2 or 5 x 10^k, at least 1) giving about `buckets` bars."""
    raw = (high - low) / buckets
    if raw <= 1:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    for step in (1, 2, 5, 10):
        if step * magnitude >= raw:
            return float(step * magnitude)
    return float(10 * magnitude)


def _histogram_svg(buckets: list[tuple[float, int]], width: float) -> str:
    """Bars as an inline SVG (no script, no external asset); the table beside it has the numbers."""
    chart_w, chart_h, pad = 640, 160, 20
    peak = max((count for _, count in buckets), default=0) or 1
    bar_w = (chart_w - 2 * pad) / max(len(buckets), 1)
    bars = []
    for index, (start, count) in enumerate(buckets):
        height = (chart_h - 2 * pad) * count / peak
        x = pad + index * bar_w
        y = chart_h - pad - height
        label = f"{fmt_number(start)} to {fmt_number(start + width)}: {count}"
        bars.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar_w - 2, 1):.1f}" '
            f'height="{height:.1f}"><title>{esc(label)}</title></rect>'
        )
    first, last = buckets[0][0], buckets[-1][0] + width
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{chart_w}" '
        f'height="{chart_h}" viewBox="0 0 {chart_w} {chart_h}">'
        f'<line x1="{pad}" y1="{chart_h - pad}" x2="{chart_w - pad}" y2="{chart_h - pad}" '
        'class="axis"/>' + "".join(bars) + f'<text x="{pad}" y="{chart_h - 4}">'
        f"{esc(fmt_number(first))}</text>"
        f'<text x="{chart_w - pad}" y="{chart_h - 4}" text-anchor="end">'
        f"{esc(fmt_number(last))}</text></svg>"
    )


def _score_distribution(con: duckdb.DuckDBPyConnection, page: _Page, score_date: str) -> None:
    ranges = _rows(
        con,
        "select model_id, count(*) as scores, min(score) as low, max(score) as high "
        "from lead_score_history where score_date = cast(? as date) "
        "group by model_id order by model_id",
        [score_date],
    )
    parts = []
    for model in ranges:
        low, high = float(model["low"]), float(model["high"])
        width = nice_bucket_width(low, high)
        counts = {
            float(row["bucket_start"]): int(row["scores"])
            for row in _rows(
                con,
                "select floor(score / ?) * ? as bucket_start, count(*) as scores "
                "from lead_score_history "
                "where score_date = cast(? as date) and model_id = ? group by 1",
                [width, width, score_date, model["model_id"]],
            )
        }
        first, last = math.floor(low / width) * width, math.floor(high / width) * width
        steps = round((last - first) / width) + 1
        buckets = [(first + i * width, counts.get(first + i * width, 0)) for i in range(steps)]
        table = _table(
            ["from (inclusive)", "to (exclusive)", "contacts"],
            [(fmt_number(start), fmt_number(start + width), n) for start, n in buckets],
        )
        parts.append(
            f'<div class="model" data-model="{esc(model["model_id"])}">'
            f"<h3>{esc(model['model_id'])}: {esc(model['scores'])} contacts, "
            f"scores {esc(fmt_number(low))} to {esc(fmt_number(high))}</h3>"
            f"{_histogram_svg(buckets, width)}{table}</div>"
        )
    page.section("score-distribution", "Score distribution", "\n".join(parts))


def _stage_counts(con: duckdb.DuckDBPyConnection, page: _Page, score_date: str) -> None:
    rows = _rows(
        con,
        "select model_id, stage, count(*) as contacts from lead_score_history "
        "where score_date = cast(? as date) group by model_id, stage",
        [score_date],
    )
    models = sorted({row["model_id"] for row in rows})
    counts = {(row["model_id"], row["stage"]): int(row["contacts"]) for row in rows}
    # A stage outside the four of the spec would be a scoring bug: show it, do not hide it.
    stages = list(STAGES) + sorted({row["stage"] for row in rows} - set(STAGES))
    totals = {model: sum(counts.get((model, s), 0) for s in stages) for model in models}
    table = _table(
        ["model", *stages, "total"],
        [[model, *(counts.get((model, s), 0) for s in stages), totals[model]] for model in models],
    )
    for stage in stages:
        page.figures[f"stage_{stage}"] = sum(counts.get((m, stage), 0) for m in models)
    page.section("stage-counts", "Stage counts", table)


def _matrix(con: duckdb.DuckDBPyConnection, page: _Page, score_date: str) -> None:
    rows = _rows(
        con,
        "select model_id, fit_grade, engagement_level, count(*) as contacts "
        "from lead_score_history where score_date = cast(? as date) "
        "group by model_id, fit_grade, engagement_level",
        [score_date],
    )
    parts = []
    for model in sorted({row["model_id"] for row in rows}):
        cells = {
            (row["fit_grade"], row["engagement_level"]): int(row["contacts"])
            for row in rows
            if row["model_id"] == model
        }
        grades = sorted({grade for grade, _ in cells}, key=lambda g: (g is None, g))
        levels = sorted({level for _, level in cells}, key=lambda v: (v is None, v))
        table = _table(
            ["fit grade \\ engagement level", *levels],
            [[grade, *(cells.get((grade, level), 0) for level in levels)] for grade in grades],
            caption=f"{model}: contacts per matrix cell (grade + level, e.g. A1)",
        )
        parts.append(f'<div class="model" data-model="{esc(model)}">{table}</div>')
    page.section("matrix", "Fit x engagement matrix", "\n".join(parts))


def _handoffs(
    con: duckdb.DuckDBPyConnection, page: _Page, score_date: str, tables: set[str]
) -> None:
    if "mql_handoffs" not in tables:
        page.section("handoffs", "Hand-offs of the date", _missing("mql_handoffs"))
        return
    rows = _rows(
        con,
        "select contact_id, model_id, score, mql_at, top_reasons from mql_handoffs "
        "where score_date = cast(? as date) order by score desc, model_id, contact_id",
        [score_date],
    )
    page.figures["handoffs"] = len(rows)
    per_model: dict[str, int] = {}
    for row in rows:
        per_model[row["model_id"]] = per_model.get(row["model_id"], 0) + 1
    summary = _table(["model", "hand-offs"], sorted(per_model.items()))
    listed = _table(
        ["contact", "model", "score", "mql at", "top reasons"],
        [
            (
                r["contact_id"],
                r["model_id"],
                fmt_number(r["score"]),
                fmt_number(r["mql_at"]),
                r["top_reasons"],
            )
            for r in rows[:MAX_HANDOFF_ROWS]
        ],
    )
    more = len(rows) - MAX_HANDOFF_ROWS
    note = f"<p>and {esc(more)} more (query mql_handoffs for all).</p>" if more > 0 else ""
    body = f"<p>{esc(len(rows))} hand-offs to sales on {esc(score_date)}.</p>"
    page.section("handoffs", "Hand-offs of the date", body + summary + listed + note)


def _quarantine(
    con: duckdb.DuckDBPyConnection, page: _Page, score_date: str, tables: set[str]
) -> None:
    quarantined = con.execute(
        "select count(distinct contact_id) from lead_score_history "
        "where score_date = cast(? as date) and is_quarantined",
        [score_date],
    ).fetchone()[0]
    page.figures["quarantined_contacts"] = int(quarantined)
    body = f"<p>{esc(quarantined)} contacts quarantined (stage disqualified) on {esc(score_date)}."
    body += " A contact can carry several flags.</p>"
    if "contact_quality_flags" not in tables:
        page.section("quarantine", "Quarantine by flag", body + _missing("contact_quality_flags"))
        return
    # contact_quality_flags holds the latest scored date's flags only
    (latest,) = con.execute(
        "select cast(max(score_date) as varchar) from lead_score_history"
    ).fetchone()
    # flagged_at: the first date of the flag's current run (contact_quality_flags)
    rows = _rows(
        con,
        "select flag, count(distinct contact_id) as contacts, "
        "count(distinct contact_id) filter (where cast(flagged_at as date) = cast(? as date)) "
        "as new_contacts "
        "from contact_quality_flags group by flag order by contacts desc, flag",
        [score_date],
    )
    if latest is not None and latest != score_date:
        body += (
            f"<p>The published file holds the flags of the latest scored date only: "
            f"these are those of {esc(latest)}, not of {esc(score_date)}.</p>"
        )
        table = _table(
            ["flag", f"contacts on {latest}"], [(r["flag"], r["contacts"]) for r in rows]
        )
        page.section("quarantine", "Quarantine by flag", body + table)
        return
    for row in rows:
        page.figures[f"flagged_{row['flag']}"] = int(row["contacts"])
    table = _table(
        ["flag", "contacts", f"flagged since {score_date}"],
        [(r["flag"], r["contacts"], r["new_contacts"]) for r in rows],
    )
    page.section("quarantine", "Quarantine by flag", body + table)


def _conversion(con: duckdb.DuckDBPyConnection, page: _Page, tables: set[str]) -> None:
    if "score_performance" not in tables:
        page.section("conversion", "Conversion by score band", _missing("score_performance"))
        return
    rows = _rows(con, "select * from score_performance order by model_id, band_order")
    parts = []
    for model in sorted({row["model_id"] for row in rows}):
        bands = [row for row in rows if row["model_id"] == model]
        first = bands[0]
        dates = first["cohort_score_dates"]
        complete = first["window_complete_through"]
        caption = (
            f"{model}: cohort {first['cohort_first_score_date']} to "
            f"{first['cohort_last_score_date']} ({dates} score date{'s' if dates != 1 else ''}); "
            f"opportunities created from {first['conversion_lookback_days']} days before to "
            f"{first['conversion_window_days']} days after each score date; "
            + (
                f"final for score dates through {complete}"
                if complete is not None
                else "window still open for every score date"
            )
        )
        table = _table(
            ["band", "contacts", "to opportunity", "rate", "lift", "to won", "won rate"],
            [
                (
                    f"{b['band_type']} {b['band']}",
                    b["contacts"],
                    b["converted_to_opportunity"],
                    fmt_rate(b["opportunity_rate"]),
                    fmt_number(b["opportunity_lift"]),
                    b["converted_to_won"],
                    fmt_rate(b["won_rate"]),
                )
                for b in bands
            ],
            caption=caption,
        )
        mql = next((b for b in bands if b["band_type"] == "stage" and b["band"] == "mql"), None)
        mql_line = ""
        if mql is not None:
            mql_line = (
                f"<p>MQL to opportunity: {esc(mql['handoffs_converted'])} of "
                f"{esc(mql['handoffs'])} hand-offs ({esc(fmt_rate(mql['mql_to_opportunity_rate']))}"
                f"), median {esc(fmt_number(mql['median_days_to_opportunity'], 1))} days.</p>"
            )
            if mql["mql_to_opportunity_rate"] is not None:
                page.figures[f"mql_to_opportunity_rate_{model}"] = float(
                    mql["mql_to_opportunity_rate"]
                )
        top = next((b for b in bands if b["band_type"] == "decile" and b["band"] == "10"), None)
        if top is not None and top["opportunity_lift"] is not None:
            page.figures[f"top_decile_lift_{model}"] = float(top["opportunity_lift"])
        parts.append(f'<div class="model" data-model="{esc(model)}">{table}{mql_line}</div>')
    page.section("conversion", "Conversion by score band", "\n".join(parts))


STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ddd; padding: 2px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
caption { text-align: left; font-style: italic; padding-bottom: 4px; }
svg rect { fill: #3b7dd8; } svg .axis { stroke: #888; } svg text { font-size: 11px; }
.missing { color: #a33; } .figures td { font-weight: bold; }
"""


def write_run_report(published_path: Path, out_path: Path, score_date: str) -> dict:
    """Write the HTML report of `score_date` from the published file; return its key figures.

    Reads the file read-only (BI's view of the run). A date the file was
    published for with no scores (no contact created by then) gets a report
    that says so. Raises ReportError when the file has no lead_score_history,
    or no scores for a date it was not published for.
    """
    dt.date.fromisoformat(score_date)  # ValueError names a malformed date
    if not published_path.exists():
        raise ReportError(f"no published file at {published_path}")
    con = connect(published_path, read_only=True)
    try:
        tables = {
            row[0]
            for row in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'main'"
            ).fetchall()
        }
        if "lead_score_history" not in tables:
            raise ReportError(f"{published_path} has no lead_score_history table")
        contacts, scores, models = con.execute(
            "select count(distinct contact_id), count(*), count(distinct model_id) "
            "from lead_score_history where score_date = cast(? as date)",
            [score_date],
        ).fetchone()
        page = _Page(figures={"contacts_scored": contacts, "scores": scores, "models": models})
        if scores == 0:
            if not _published_for(con, tables, score_date):
                raise ReportError(f"{published_path} has no scores for {score_date}")
            page.section(
                "no-scores",
                "No contact scored",
                f"<p>No contact was scored on {esc(score_date)}: the CRM holds no contact "
                f"created on or before that date (SPEC section 4 scores the contacts known "
                f"at the end of the date).</p>",
            )
        else:
            _score_distribution(con, page, score_date)
            _stage_counts(con, page, score_date)
            _matrix(con, page, score_date)
            _handoffs(con, page, score_date, tables)
            _quarantine(con, page, score_date, tables)
            _conversion(con, page, tables)
    finally:
        con.close()

    figures_table = _table(["figure", "value"], sorted(page.figures.items()))
    document = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>leadscore run report {esc(score_date)}</title>"
        f'<meta name="leadscore-score-date" content="{esc(score_date)}">'
        f"<style>{STYLE}</style></head><body>\n"
        f"<h1>leadscore run report: {esc(score_date)}</h1>\n"
        f"<p>From {esc(published_path)}, generated "
        f"{esc(dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M:%S UTC'))}.</p>\n"
        f'<div class="figures">{figures_table}</div>\n'
        + "\n".join(page.sections)
        + "\n</body></html>\n"
    )
    _write_atomically(out_path, document)
    return dict(page.figures)


def _published_for(con: duckdb.DuckDBPyConnection, tables: set[str], score_date: str) -> bool:
    """Whether the file was published by a run of `score_date` (publish's _publish_info)."""
    if "_publish_info" not in tables:
        return False
    row = con.execute(
        "select count(*) from _publish_info where score_date = cast(? as date)", [score_date]
    ).fetchone()
    return row[0] > 0


def _write_atomically(path: Path, text: str) -> None:
    """Readers (a browser, a file server) never see a half-written page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def refresh_latest(reports_dir: Path) -> Path:
    """Point latest.html at the report of the most recent score date (a backfill of
    older dates leaves it alone)."""
    dated = sorted(p.name for p in reports_dir.iterdir() if REPORT_NAME.match(p.name))
    if not dated:
        raise ReportError(f"no run_report_<date>.html in {reports_dir}")
    latest = reports_dir / LATEST_NAME
    tmp = latest.with_name(f".{LATEST_NAME}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        shutil.copyfile(reports_dir / dated[-1], tmp)
        os.replace(tmp, latest)
    finally:
        tmp.unlink(missing_ok=True)
    return latest


def next_scored_dates(con: duckdb.DuckDBPyConnection, score_date: str) -> list[str]:
    """Each model's next scored date after `score_date` in the published history.

    A run also rebuilds them in the marts that compare a date with its
    predecessor (dbt macro rebuilt_score_dates: hand-offs, account changes).
    None in the daily run, where the score date is the latest.
    """
    return [
        date
        for (date,) in con.execute(
            "select distinct cast(next_date as varchar) from ("
            "select min(score_date) as next_date from lead_score_history "
            "where score_date > cast(? as date) group by model_id) order by 1",
            [score_date],
        ).fetchall()
    ]


def rebuilt_report_dates(published_path: Path, score_date: str) -> list[str]:
    """The later score dates whose reports a run for `score_date` made stale:
    next_scored_dates that have a report (it is written again)."""
    con = connect(published_path, read_only=True)
    try:
        dates = next_scored_dates(con, score_date)
    finally:
        con.close()
    return [date for date in dates if report_path(published_path, date).exists()]


@asset(
    key=AssetKey(["published", "run_report"]),
    deps=[AssetKey(["published", "bi_file"])],
    group_name="published",
    partitions_def=score_date_partitions,
    backfill_policy=one_date_per_run,
    description="HTML run report of the score date (distribution, stages, matrix, hand-offs, "
    "quarantine, conversion by band), read from the published file; written to "
    "<publish dir>/reports/run_report_<date>.html and latest.html.",
    kinds={"html"},
)
def run_report(context: AssetExecutionContext, leadscore: LeadscoreResource) -> MaterializeResult:
    score_date = context.partition_key
    publish_path = leadscore.settings.publish_path
    path = report_path(publish_path, score_date)
    figures = write_run_report(publish_path, path, score_date)
    context.log.info(f"run report written to {path} ({figures['scores']} scores)")
    for later in rebuilt_report_dates(publish_path, score_date):
        later_path = report_path(publish_path, later)
        write_run_report(publish_path, later_path, later)
        context.log.info(
            f"run report of {later} written again to {later_path}: its hand-offs and account "
            f"changes now compare with {score_date}"
        )
    latest = refresh_latest(path.parent)
    return MaterializeResult(
        metadata={
            **figures,
            "path": MetadataValue.path(str(path)),
            "latest": MetadataValue.path(str(latest)),
        }
    )
