"""The HTML run report, generated from a small published DuckDB file built here."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from dagster import AssetKey, materialize

from orchestration.report import (
    ReportError,
    nice_bucket_width,
    report_path,
    run_report,
    write_run_report,
)
from orchestration.resources import LeadscoreResource, connect
from orchestration.settings import Settings

D = "2026-06-30"
EARLIER = "2026-06-29"

#: contact, model, date, fit_grade, engagement_level, stage, score, quarantined, top_reasons
HISTORY = [
    ("c1", "all_products", D, "A", "1", "mql", 120.0, False, "demo_request +40"),
    ("c2", "all_products", D, "A", "2", "warm", 64.5, False, "pricing_page_view +10"),
    ("c3", "all_products", D, "B", "2", "warm", 55.0, False, "title +20"),
    ("c4", "all_products", D, "C", "3", "cold", 8.0, False, "country +5"),
    ("c5", "all_products", D, "D", "3", "disqualified", 3.0, True, "none"),
    ("c1", "analytics", D, "A", "1", "mql", 99.0, False, "<script>alert('x')</script> & co"),
    ("c2", "analytics", D, "B", "3", "cold", 12.0, False, "blog_view +2"),
    # another date: never in this date's report
    ("c9", "all_products", EARLIER, "A", "1", "mql", 500.0, False, "old"),
]


def build_published(path: Path, *, with_flags: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = connect(path)
    try:
        con.execute(
            "create table lead_score_history (contact_id varchar, model_id varchar, "
            "score_date date, fit_grade varchar, engagement_level varchar, stage varchar, "
            "score decimal(18, 2), is_quarantined boolean, top_reasons varchar)"
        )
        con.executemany(
            "insert into lead_score_history values (?, ?, ?, ?, ?, ?, ?, ?, ?)", HISTORY
        )
        con.execute(
            "create table mql_handoffs as select contact_id, model_id, score_date, score, "
            "cast(100 as decimal(18, 2)) as mql_at, top_reasons from lead_score_history "
            "where stage = 'mql'"
        )
        if with_flags:
            con.execute(
                "create table contact_quality_flags (contact_id varchar, flag varchar, "
                "detail varchar, flagged_at timestamp)"
            )
            con.executemany(
                "insert into contact_quality_flags values (?, ?, 'x', ?)",
                [
                    ("c5", "disposable_email", "2026-06-30"),
                    ("c5", "role_account", "2026-06-30"),
                    ("c6", "role_account", "2026-05-02"),
                ],
            )
        con.execute(
            "create table score_performance (model_id varchar, band_type varchar, band varchar, "
            "band_order integer, contacts integer, converted_to_opportunity integer, "
            "converted_to_won integer, opportunity_rate decimal(18, 4), won_rate decimal(18, 4), "
            "opportunity_lift decimal(18, 4), handoffs integer, handoffs_converted integer, "
            "mql_to_opportunity_rate decimal(18, 4), median_days_to_opportunity decimal(18, 4), "
            "cohort_first_score_date date, cohort_last_score_date date, cohort_score_dates "
            "integer, conversion_lookback_days integer, conversion_window_days integer, "
            "window_complete_through date)"
        )
        con.executemany(
            "insert into score_performance values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "'2026-06-29', '2026-06-30', 2, 90, 90, null)",
            [
                (
                    "all_products",
                    "decile",
                    "10",
                    1,
                    20,
                    9,
                    3,
                    0.45,
                    0.15,
                    3.0,
                    None,
                    None,
                    None,
                    None,
                ),
                (
                    "all_products",
                    "decile",
                    "1",
                    10,
                    20,
                    1,
                    0,
                    0.05,
                    0.0,
                    0.3333,
                    None,
                    None,
                    None,
                    None,
                ),
                ("all_products", "stage", "mql", 11, 8, 4, 1, 0.5, 0.125, 3.3333, 6, 3, 0.5, 12.5),
                ("analytics", "decile", "10", 1, 5, 0, 0, 0.0, 0.0, None, None, None, None, None),
                ("analytics", "stage", "mql", 11, 0, 0, 0, None, None, None, 0, 0, None, None),
            ],
        )
    finally:
        con.close()


class Sections(HTMLParser):
    """Collect, per <section id>, its text and its tables as lists of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, dict] = {}
        self.current: str | None = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "section":
            self.current = dict(attrs)["id"]
            self.sections[self.current] = {"text": "", "tables": []}
        elif self.current and tag == "table":
            self.sections[self.current]["tables"].append([])
        elif self.current and tag == "tr":
            self.row = []
        elif self.row is not None and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.sections[self.current]["tables"][-1].append(self.row)
            self.row = None
        elif tag == "section":
            self.current = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)
        if self.current:
            self.sections[self.current]["text"] += data


def parse(path: Path) -> dict[str, dict]:
    parser = Sections()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.sections


@pytest.fixture
def published(tmp_path: Path) -> Path:
    path = tmp_path / "published.duckdb"
    build_published(path)
    return path


def test_report_has_every_section_with_the_tables_numbers(published: Path, tmp_path: Path):
    out = tmp_path / "reports" / f"run_report_{D}.html"
    figures = write_run_report(published, out, D)
    sections = parse(out)
    assert list(sections) == [
        "score-distribution",
        "stage-counts",
        "matrix",
        "handoffs",
        "quarantine",
        "conversion",
    ]

    # Stage counts: one row per model, the four stages and the total.
    header, *rows = sections["stage-counts"]["tables"][0]
    assert header == ["model", "mql", "warm", "cold", "disqualified", "total"]
    assert rows == [
        ["all_products", "1", "2", "1", "1", "5"],
        ["analytics", "1", "0", "1", "0", "2"],
    ]

    # Histogram of all_products (scores 3 to 120): round buckets of width 20, empty ones too.
    distribution = sections["score-distribution"]
    header, *buckets = distribution["tables"][0]
    assert header == ["from (inclusive)", "to (exclusive)", "contacts"]
    assert [row[2] for row in buckets] == ["2", "0", "1", "1", "0", "0", "1"]
    assert buckets[0][:2] == ["0.00", "20.00"] and buckets[-1][:2] == ["120.00", "140.00"]
    assert sum(int(row[2]) for row in buckets) == 5
    assert "<svg" in out.read_text() and "<script" not in out.read_text()

    # Matrix grid of all_products: grades down, levels across.
    grid = sections["matrix"]["tables"][0]
    assert grid == [
        ["fit grade \\ engagement level", "1", "2", "3"],
        ["A", "1", "1", "0"],
        ["B", "0", "1", "0"],
        ["C", "0", "0", "1"],
        ["D", "0", "0", "1"],
    ]

    # Hand-offs of the date only (c9's is from an earlier date), highest score first.
    summary, listed = sections["handoffs"]["tables"]
    assert summary[1:] == [["all_products", "1"], ["analytics", "1"]]
    assert [row[:3] for row in listed[1:]] == [
        ["c1", "all_products", "120.00"],
        ["c1", "analytics", "99.00"],
    ]
    # Values are escaped, never interpreted as markup.
    assert listed[2][4] == "<script>alert('x')</script> & co"
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co" in out.read_text()

    quarantine = sections["quarantine"]
    # contacts per flag, and those whose flag was raised on the date (flagged_at)
    assert quarantine["tables"][0] == [
        ["flag", "contacts", f"flagged since {D}"],
        ["role_account", "2", "1"],
        ["disposable_email", "1", "1"],
    ]
    assert "1 contacts quarantined" in quarantine["text"]

    conversion = sections["conversion"]
    first = conversion["tables"][0]
    assert first[1] == ["decile 10", "20", "9", "45.0%", "3.00", "3", "15.0%"]
    assert first[3] == ["stage mql", "8", "4", "50.0%", "3.33", "1", "12.5%"]
    assert "3 of 6 hand-offs (50.0%), median 12.5 days" in conversion["text"]
    assert conversion["tables"][1][1] == ["decile 10", "5", "0", "0.0%", "-", "0", "0.0%"]
    assert "window still open" in conversion["text"]

    assert figures == {
        "contacts_scored": 5,
        "scores": 7,
        "models": 2,
        "stage_mql": 2,
        "stage_warm": 2,
        "stage_cold": 2,
        "stage_disqualified": 1,
        "handoffs": 2,
        "quarantined_contacts": 1,
        "flagged_role_account": 2,
        "flagged_disposable_email": 1,
        "mql_to_opportunity_rate_all_products": 0.5,
        "top_decile_lift_all_products": 3.0,
    }


def test_missing_optional_table_is_said_not_hidden(tmp_path: Path):
    path = tmp_path / "published.duckdb"
    build_published(path, with_flags=False)
    out = tmp_path / "report.html"
    figures = write_run_report(path, out, D)
    sections = parse(out)
    assert "has no contact_quality_flags table" in sections["quarantine"]["text"]
    assert figures["quarantined_contacts"] == 1
    assert not any(key.startswith("flagged_") for key in figures)


def test_no_scores_for_the_date_is_an_error(published: Path, tmp_path: Path):
    with pytest.raises(ReportError, match="no scores for 2026-07-01"):
        write_run_report(published, tmp_path / "r.html", "2026-07-01")
    with pytest.raises(ReportError, match="no published file"):
        write_run_report(tmp_path / "missing.duckdb", tmp_path / "r.html", D)
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize(
    ("low", "high", "width"), [(0, 5, 1), (3, 120, 20), (-40, 160, 20), (0, 1000, 100), (0, 31, 5)]
)
def test_histogram_bucket_width_is_round(low: float, high: float, width: float):
    assert nice_bucket_width(low, high) == width


def test_run_report_asset_writes_dated_report_and_latest(settings: Settings):
    build_published(settings.publish_path)
    resource = LeadscoreResource.from_settings(settings)

    result = materialize([run_report], partition_key=D, resources={"leadscore": resource})
    assert result.success
    (materialization,) = result.asset_materializations_for_node("published__run_report")
    assert materialization.asset_key == AssetKey(["published", "run_report"])
    metadata = materialization.metadata
    assert metadata["scores"].value == 7
    assert metadata["top_decile_lift_all_products"].value == 3.0
    dated = report_path(settings.publish_path, D)
    assert metadata["path"].value == str(dated)
    latest = settings.publish_path.parent / "reports" / "latest.html"
    assert latest.read_text() == dated.read_text()

    # A backfill of an earlier date writes its own report; D, the next scored
    # date, had its hand-offs rebuilt by that run (one fewer here): its report
    # and latest.html are written again from the published file.
    assert "2 hand-offs to sales" in parse(dated)["handoffs"]["text"]
    con = connect(settings.publish_path)
    try:
        con.execute(
            "delete from mql_handoffs where rowid = "
            f"(select min(rowid) from mql_handoffs where score_date = '{D}')"
        )
    finally:
        con.close()
    result = materialize([run_report], partition_key=EARLIER, resources={"leadscore": resource})
    assert result.success
    assert report_path(settings.publish_path, EARLIER).exists()
    assert "1 hand-offs to sales" in parse(dated)["handoffs"]["text"]
    assert f'content="{D}"' in latest.read_text()
    assert latest.read_text() == dated.read_text()


def test_report_of_an_earlier_date_says_whose_flags_it_shows(published: Path, tmp_path: Path):
    # contact_quality_flags holds the latest scored date's flags (D); the
    # report of a backfilled EARLIER date must not present them as its own
    out = tmp_path / "report.html"
    figures = write_run_report(published, out, EARLIER)
    quarantine = parse(out)["quarantine"]
    assert f"these are those of {D}, not of {EARLIER}" in quarantine["text"]
    assert quarantine["tables"][0][0] == ["flag", f"contacts on {D}"]
    assert not any(key.startswith("flagged_") for key in figures)
