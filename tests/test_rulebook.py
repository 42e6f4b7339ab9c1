"""Rulebook edits. A bad one: the run fails before anything is published, and
the summary names the seed file, its row and column (orchestration/dbt_failures.py).
A good one applies to the dates scored after it, and a backfill restates the
past under it (README, "A rulebook change applies to the dates scored after it").

The rulebook is the repository's seeds/ folder, so the runs under test use a
copy of the project (code, dbt project, seeds, suites) in tmp_path with the
edits applied; the repository's own seeds are never touched.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.dbt_failures import describe_test_failure, locate_in_csv
from orchestration.demo_data import generate
from orchestration.rulebook import RulebookError, _unreadable, check_seed_files

ROOT = Path(__file__).resolve().parents[1]
PROJECT_PARTS = ("orchestration", "dbt_project", "seeds", "expectations")
SCORE_DATE = "2026-04-01"


def _copy_project(dest: Path) -> Path:
    for part in PROJECT_PARTS:
        shutil.copytree(
            ROOT / part,
            dest / part,
            ignore=shutil.ignore_patterns("target", "logs", "__pycache__", "dbt_packages"),
        )
    return dest


def _edit_seed(seeds: Path, name: str, match: dict[str, str], changes: dict[str, str]) -> int:
    """Change the first data row matching `match`; return its row number (1 = first data row)."""
    path = seeds / f"{name}.csv"
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    number = next(
        i for i, row in enumerate(rows, start=1) if all(row[k] == v for k, v in match.items())
    )
    rows[number - 1].update(changes)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return number


def _leadscore(project: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`leadscore <args>` from the copied project, on the landing folder and
    warehouse under tmp_path (published file: tmp_path/published/published.duckdb)."""
    (tmp_path / "dagster_home").mkdir(exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(project),
        "LEADSCORE_LANDING_DIR": str(tmp_path / "landing"),
        "LEADSCORE_WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
        "LEADSCORE_PUBLISH_PATH": str(tmp_path / "published" / "published.duckdb"),
        "LEADSCORE_EXPORT_DIR": str(tmp_path / "published" / "parquet"),
        "LEADSCORE_AUDIT_DIR": str(tmp_path / "audit"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_bad_rulebook_values_name_the_seed_row_and_column(tmp_path: Path) -> None:
    project = _copy_project(tmp_path / "project")
    seeds = project / "seeds"
    with (seeds / "fit_rules.csv").open(newline="") as handle:
        first_rule = next(csv.DictReader(handle))
    operator_row = _edit_seed(
        seeds,
        "fit_rules",
        {"model_id": first_rule["model_id"], "rule_id": first_rule["rule_id"]},
        {"operator": "similar_to"},
    )
    with (seeds / "thresholds.csv").open(newline="") as handle:
        thresholds = [r for r in csv.DictReader(handle) if r["segment"] not in ("*", "unknown")]
    typo, blank = thresholds[0], thresholds[1]
    typo_row = _edit_seed(
        seeds, "thresholds", {k: typo[k] for k in ("model_id", "segment")}, {"segment": "no_such"}
    )
    blank_row = _edit_seed(
        seeds, "thresholds", {k: blank[k] for k in ("model_id", "segment")}, {"warm_at": ""}
    )

    # a pattern that does not compile: named here, not by the scoring model's crash
    with (seeds / "fit_rules.csv").open(newline="") as handle:
        regex_rule = next(r for r in csv.DictReader(handle) if r["operator"] == "regex")
    regex_row = _edit_seed(
        seeds,
        "fit_rules",
        {"model_id": regex_rule["model_id"], "rule_id": regex_rule["rule_id"]},
        {"value": "(unclosed"},
    )

    # an equals rule without a value: it would match nothing, silently
    with (seeds / "fit_rules.csv").open(newline="") as handle:
        equals_rule = next(
            r
            for r in csv.DictReader(handle)
            if r["operator"] == "equals" and r["rule_id"] != first_rule["rule_id"]
        )
    equals_row = _edit_seed(
        seeds,
        "fit_rules",
        {"model_id": equals_rule["model_id"], "rule_id": equals_rule["rule_id"]},
        {"value": ""},
    )

    # a burst window longer than a day: a burst across midnight would not be
    # complete on the next day, the date its flag applies from
    window_row = _edit_seed(
        seeds, "quality_bot_thresholds", {"parameter": "burst_window_seconds"}, {"value": "90000"}
    )

    generate(tmp_path / "landing", contacts=300, seed=7, end_date=dt.date(2026, 3, 31))
    run = _leadscore(project, tmp_path, "run", "--date", SCORE_DATE)
    publish = tmp_path / "published" / "published.duckdb"
    err = run.stderr
    assert run.returncode == 1, run.stdout[-3000:] + err[-3000:]
    assert "FAILED" in err and "the published tables were left untouched" in err
    assert "check rulebook/fit_rules:accepted_values_fit_rules_operator" in err
    assert (
        f"1 failing row(s); e.g. seeds/fit_rules.csv row {operator_row}, column operator: "
        "'similar_to'"
    ) in err
    assert (
        "check rulebook/thresholds:assert_threshold_segments_are_known failed: 1 failing row(s); "
        f"e.g. seeds/thresholds.csv row {typo_row}, model_id='{typo['model_id']}', "
        "segment='no_such'"
    ) in err
    assert (
        "check rulebook/thresholds:not_null_thresholds_warm_at failed: 1 failing row(s); "
        f"e.g. seeds/thresholds.csv row {blank_row}, column warm_at: null"
    ) in err
    assert (
        f"1 failing row(s); e.g. seeds/quality_bot_thresholds.csv row {window_row}, "
        "parameter='burst_window_seconds', value=90000"
    ) in err, err
    assert (
        "check rulebook/fit_rules:assert_fit_rule_values_are_valid failed: 2 failing row(s); e.g. "
    ) in err, err
    assert (
        f"seeds/fit_rules.csv row {regex_row}, model_id='{regex_rule['model_id']}', "
        f"rule_id='{regex_rule['rule_id']}', problem='regex value is not a valid regular "
        "expression'"
    ) in err, err
    assert (
        f"seeds/fit_rules.csv row {equals_row}, model_id='{equals_rule['model_id']}', "
        f"rule_id='{equals_rule['rule_id']}', problem='equals / contains / regex value is blank'"
    ) in err, err
    assert not publish.exists()


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows


def test_a_rulebook_csv_that_does_not_fit_its_yaml_is_named_before_dbt(tmp_path: Path) -> None:
    """A renamed header column or a row with an extra value (an unquoted comma):
    dbt would name neither by its file, row and column."""
    seeds = shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    check_seed_files(seeds)  # the shipped rulebook fits

    header, rows = _read_csv(seeds / "thresholds.csv")
    _write_csv(seeds / "thresholds.csv", [h.replace("mql_at", "mql") for h in header], rows)
    header, rows = _read_csv(seeds / "fit_rules.csv")
    rows[4] = [*rows[4], "oops"]
    _write_csv(seeds / "fit_rules.csv", header, rows)
    with pytest.raises(RulebookError) as raised:
        check_seed_files(seeds)
    message = str(raised.value)
    assert (
        "seeds/thresholds.csv, row 0, column 'mql_at': the header lacks column(s) ['mql_at'] "
        "(declared in seeds/rulebook.yml)"
    ) in message
    assert f"seeds/fit_rules.csv, row 5: 8 values, the header has {len(header)}" in message

    # a value of a numeric column that is no number: dbt's loader would stop on
    # it with DuckDB's CSV dump, naming the file's line
    shutil.copy(ROOT / "seeds" / "thresholds.csv", seeds / "thresholds.csv")
    header, rows = _read_csv(seeds / "fit_rules.csv")
    rows = [row for row in rows if len(row) == len(header)]
    rows[1][header.index("points")] = "twenty"
    _write_csv(seeds / "fit_rules.csv", header, rows)
    header, rows = _read_csv(seeds / "inactivity_rules.csv")
    rows[0][header.index("window_days")] = "30.5"
    _write_csv(seeds / "inactivity_rules.csv", header, rows)
    with pytest.raises(RulebookError) as raised:
        check_seed_files(seeds)
    message = str(raised.value)
    assert "seeds/fit_rules.csv, row 2, column 'points': 'twenty' is not a number" in message
    assert (
        "seeds/inactivity_rules.csv, row 1, column 'window_days': '30.5' is not a whole number"
    ) in message
    shutil.copy(ROOT / "seeds" / "inactivity_rules.csv", seeds / "inactivity_rules.csv")
    shutil.copy(ROOT / "seeds" / "fit_rules.csv", seeds / "fit_rules.csv")
    header, rows = _read_csv(seeds / "scoring_models.csv")
    rows[0][header.index("is_active")] = "maybe"
    _write_csv(seeds / "scoring_models.csv", header, rows)
    with pytest.raises(RulebookError) as raised:
        check_seed_files(seeds)
    assert "seeds/scoring_models.csv, row 1, column 'is_active': 'maybe' is not true or false" in (
        str(raised.value)
    )
    for spelling in ("TRUE", "yes", "N", "0", ""):
        rows[0][header.index("is_active")] = spelling
        _write_csv(seeds / "scoring_models.csv", header, rows)
        check_seed_files(seeds)
    shutil.copy(ROOT / "seeds" / "scoring_models.csv", seeds / "scoring_models.csv")

    # a byte order mark (Excel) and a last blank line are fine
    text = (ROOT / "seeds" / "fit_rules.csv").read_text(encoding="utf-8")
    (seeds / "fit_rules.csv").write_text("\ufeff" + text + "\n", encoding="utf-8")
    shutil.copy(ROOT / "seeds" / "thresholds.csv", seeds / "thresholds.csv")
    check_seed_files(seeds)


#: values DuckDB's CSV reader takes that the check refuses on purpose: a fraction
#: or hexadecimal in a whole-number column (DuckDB rounds 30.5 to 31), and numbers
#: no score can be rounded from
REFUSED_ON_PURPOSE = {
    ("integer", "30.5"),
    ("integer", ".5"),
    ("integer", "0x10"),
    ("bigint", "30.5"),
    ("bigint", ".5"),
    ("bigint", "0x10"),
    ("double", "nan"),
    ("double", "inf"),
    ("double", "-inf"),
    ("double", "1e400"),
}


@pytest.mark.parametrize("data_type", ["double", "integer", "bigint", "boolean"])
def test_the_typed_column_check_agrees_with_duckdbs_csv_reader(
    tmp_path: Path, data_type: str
) -> None:
    """A value the check lets through must load (dbt's seed loader would stop on
    it with DuckDB's CSV dump), and one it refuses must be one DuckDB refuses,
    or one refused on purpose."""
    values = [
        "3", " 3 ", "\t3", "+5", "-5", "1e3", "1.5e1", "1_000", "3.0", "5.", ".5", "30.5",
        "", " ", "\t", "\xa03", "\xa0", "\u0663", "nan", "inf", "-inf", "1e400", "0x10",
        "2147483647", "2147483648", "-2147483648", "-2147483649",
        "9223372036854775807", "9223372036854775808", "1e19",
        "TRUE", "false", "yes", "No", "t", "Y", "0", " true", "maybe", "twenty",
    ]  # fmt: skip
    disagreements = []
    for value in values:
        path = tmp_path / "value.csv"
        path.write_text(f"k,v\n1,{value}\n", encoding="utf-8")
        con = duckdb.connect()
        con.execute(f"create table t (k integer, v {data_type})")
        try:
            con.execute(f"copy t from '{path}' (header)")
            loads = True
        except duckdb.Error:
            loads = False
        finally:
            con.close()
        reason = _unreadable(value, data_type)
        if reason is None and not loads:
            disagreements.append(f"{value!r} passes the check and fails to load")
        if reason is not None and loads and (data_type, value) not in REFUSED_ON_PURPOSE:
            disagreements.append(f"{value!r} loads and the check refuses it: {reason}")
    assert disagreements == []
    assert _unreadable(" ", data_type) == "a cell of spaces; a blank value is an empty cell"
    if data_type == "integer":
        assert _unreadable("3000000000", data_type) == (
            "out of range for column type integer (from -2147483648 to 2147483647)"
        )


def test_reordered_rulebook_columns_load_by_name_on_an_existing_warehouse(tmp_path: Path) -> None:
    """dbt reloads a seed into its existing table by column position; the seeds
    are re-created from the CSV instead (dbt_project.yml: full_refresh), so a
    reordered CSV scores as before."""
    project = _copy_project(tmp_path / "project")
    generate(tmp_path / "landing", contacts=100, seed=7, end_date=dt.date(2026, 3, 31))
    first = _leadscore(project, tmp_path, "run", "--date", SCORE_DATE)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    # the shipped fit rules name their countries by ISO code
    assert "assert_fit_rule_countries_are_iso_3166_1" not in first.stderr
    sql = "select contact_id, model_id, score, stage from lead_scores order by 1, 2"
    before = _published(tmp_path, sql)

    path = project / "seeds" / "engagement_rules.csv"
    header, rows = _read_csv(path)
    order = list(reversed(range(len(header))))  # cap and half_life_days swap places, and more
    _write_csv(path, [header[i] for i in order], [[row[i] for i in order] for row in rows])
    second = _leadscore(project, tmp_path, "run", "--date", SCORE_DATE)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert _published(tmp_path, sql) == before

    # A renamed column stops the run before dbt, in the run's summary, and the
    # published tables stay as they were.
    path = project / "seeds" / "thresholds.csv"
    header, rows = _read_csv(path)
    _write_csv(path, [h.replace("mql_at", "mql") for h in header], rows)
    third = _leadscore(project, tmp_path, "run", "--date", SCORE_DATE)
    assert third.returncode == 1
    assert (
        "seeds/thresholds.csv, row 0, column 'mql_at': the header lacks column(s) ['mql_at']"
    ) in third.stderr, third.stderr[-3000:]
    assert "the published tables were left untouched" in third.stderr
    assert _published(tmp_path, sql) == before


def test_rulebook_warnings_name_their_rows_and_the_run_publishes(
    tmp_path: Path,
) -> None:
    """`UK` in a fit rule matches no contact whose country is GB: the run
    warns, naming the CSV row and the value (upper-cased, as compared), and
    still publishes (a rule may list a wrong spelling on purpose to catch
    dirty CRM data). Codes compare trimmed and case-insensitively, as scoring
    compares them; in, not_in and equals are checked.

    Categories and channels are the rulebook's own names (SPEC section 3
    does not list them): a new category and a new channel score, the channel
    compared trimmed and case-insensitively; an inactivity rule on a channel
    no engagement rule of its model names (it can only count from
    created_at) warns, naming its row."""
    project = _copy_project(tmp_path / "project")
    seeds = project / "seeds"
    in_row = _edit_seed(
        seeds,
        "fit_rules",
        {"model_id": "all_products", "rule_id": "priority_country"},
        {"value": "us| ca |UK|gb|Germany"},
    )
    not_in_row = _edit_seed(
        seeds,
        "fit_rules",
        {"model_id": "analytics", "rule_id": "priority_country"},
        {"operator": "not_in", "value": "England|fr"},
    )
    equals_row = _edit_seed(
        seeds,
        "fit_rules",
        {"model_id": "analytics", "rule_id": "seniority_vp"},
        {"field": "country", "value": "EU"},  # not an assigned ISO 3166-1 code
    )
    _edit_seed(
        seeds,
        "fit_rules",
        {"model_id": "all_products", "rule_id": "seniority_vp"},
        {"category": "intent"},
    )
    _edit_seed(
        seeds,
        "engagement_rules",
        {"model_id": "all_products", "activity_type": "sales_meeting"},
        {"channel": " Meetings "},
    )
    _edit_seed(
        seeds,
        "inactivity_rules",
        {"model_id": "all_products", "rule_id": "no_web_visit_45d"},
        {"channel": "meetings"},
    )
    header, rows = _read_csv(seeds / "inactivity_rules.csv")
    _write_csv(
        seeds / "inactivity_rules.csv",
        header,
        [*rows, ["analytics", "no_email_60d", "Emial", "60", "-5", "false"]],
    )
    misspelt_row = len(rows) + 1
    generate(tmp_path / "landing", contacts=100, seed=7, end_date=dt.date(2026, 3, 31))
    run = _leadscore(project, tmp_path, "run", "--date", SCORE_DATE)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    channel_warnings = [
        line
        for line in run.stderr.splitlines()
        if "check rulebook/inactivity_rules:assert_inactivity_rule_channels_are_scored" in line
    ]
    assert channel_warnings == [
        "leadscore: warning: check rulebook/inactivity_rules:"
        "assert_inactivity_rule_channels_are_scored warns: 1 failing row(s); e.g. "
        f"seeds/inactivity_rules.csv row {misspelt_row}, model_id='analytics', "
        "rule_id='no_email_60d', channel='Emial'"
    ], run.stderr[-3000:]
    # The renamed channel: a sales meeting in the last 45 days keeps the
    # rule from firing; every other contact of the model created 45 days or
    # more before D is inactive on it.
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        met, fired, old_enough = (
            {row[0] for row in con.execute(sql).fetchall()}
            for sql in (
                "select contact_id from intermediate.int_scoring__activity_type_points "
                "where model_id = 'all_products' and channel = 'meetings' "
                f"and last_activity_date > date '{SCORE_DATE}' - 45",
                "select contact_id from intermediate.int_scoring__inactivity_rule_points "
                "where model_id = 'all_products' and rule_id = 'no_web_visit_45d'",
                "select scores.contact_id from intermediate.int_scoring__contact_scores as scores "
                "join intermediate.int_scoring__contact_profile as profile using (contact_id) "
                "where scores.model_id = 'all_products' "
                f"and cast(profile.created_at as date) <= date '{SCORE_DATE}' - 45",
            )
        )
    finally:
        con.close()
    assert met and fired, (met, fired)
    assert fired == old_enough - met
    warnings = [
        line
        for line in run.stderr.splitlines()
        if "check rulebook/fit_rules:assert_fit_rule_countries_are_iso_3166_1" in line
    ]
    assert len(warnings) == 1, run.stderr[-3000:]
    assert warnings[0].startswith("leadscore: warning: ")
    assert "warns: 4 failing row(s); e.g. " in warnings[0]
    for row, model, rule, unknown in [
        (in_row, "all_products", "priority_country", "UK"),
        (in_row, "all_products", "priority_country", "GERMANY"),
        (not_in_row, "analytics", "priority_country", "ENGLAND"),
        (equals_row, "analytics", "seniority_vp", "EU"),
    ]:
        assert (
            f"seeds/fit_rules.csv row {row}, model_id='{model}', "
            f"rule_id='{rule}', unknown_country='{unknown}'"
        ) in warnings[0], warnings[0]
    assert "GB'" not in warnings[0] and "US'" not in warnings[0] and "FR'" not in warnings[0]
    assert " OK in " in run.stdout
    assert _published(tmp_path, "select count(*) from lead_scores")[0][0] > 0


def _published(tmp_path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(tmp_path / "published" / "published.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _mql(tmp_path: Path, date: str) -> set[tuple[str, str]]:
    return set(
        _published(
            tmp_path,
            "select contact_id, model_id from lead_score_history "
            f"where score_date = '{date}' and stage = 'mql'",
        )
    )


def _handoffs(tmp_path: Path, date: str) -> set[tuple[str, str]]:
    return set(
        _published(
            tmp_path, f"select contact_id, model_id from mql_handoffs where score_date = '{date}'"
        )
    )


def test_a_rulebook_change_applies_to_later_dates_and_a_backfill_restates_the_past(
    tmp_path: Path,
) -> None:
    project = _copy_project(tmp_path / "project")
    thresholds_csv = project / "seeds" / "thresholds.csv"
    with thresholds_csv.open(newline="") as handle:
        old = {(r["model_id"], r["segment"]): r for r in csv.DictReader(handle)}
    generate(tmp_path / "landing", contacts=300, seed=7, end_date=dt.date(2026, 3, 31))
    d1, d2 = "2026-03-30", "2026-03-31"

    def run(*args: str) -> None:
        result = _leadscore(project, tmp_path, *args)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    def mql_at_by_date() -> dict[str, set[float]]:
        rows = _published(
            tmp_path,
            "select cast(score_date as varchar), mql_at from lead_score_history group by all",
        )
        by_date: dict[str, set[float]] = {}
        for date, mql_at in rows:
            by_date.setdefault(date, set()).add(float(mql_at))
        return by_date

    old_mql_at = {float(r["mql_at"]) for r in old.values()}
    run("run", "--date", d1)
    mql_d1_before = _mql(tmp_path, d1)

    # The analyst lowers every threshold to a quarter (an edit of the CSV the
    # run picks up: it re-parses the project when a seed is newer).
    for key in old:
        _edit_seed(
            project / "seeds",
            "thresholds",
            {"model_id": key[0], "segment": key[1]},
            {
                "warm_at": str(float(old[key]["warm_at"]) / 4),
                "mql_at": str(float(old[key]["mql_at"]) / 4),
            },
        )
    new_mql_at = {float(r["mql_at"]) / 4 for r in old.values()}
    run("run", "--date", d2)

    # D2 is scored under the new rulebook; D1's history keeps the old one.
    by_date = mql_at_by_date()
    assert by_date[d1] <= old_mql_at and by_date[d2] <= new_mql_at, by_date
    assert {
        float(v) for (v,) in _published(tmp_path, "select distinct mql_at from lead_scores")
    } <= (new_mql_at)
    assert _mql(tmp_path, d1) == mql_d1_before
    handoffs_d2_before = _handoffs(tmp_path, d2)
    assert handoffs_d2_before == _mql(tmp_path, d2) - mql_d1_before

    # Backfilling D1 restates it under the new rulebook, and D2's hand-offs,
    # which compare with D1, follow.
    run("backfill", "--start", d1, "--end", d1)
    by_date = mql_at_by_date()
    assert by_date[d1] <= new_mql_at and by_date[d2] <= new_mql_at, by_date
    mql_d1_after = _mql(tmp_path, d1)
    assert mql_d1_after > mql_d1_before  # lower thresholds: more MQLs, the old ones among them
    assert _handoffs(tmp_path, d1) == mql_d1_after  # the first scored date hands off every mql
    assert _handoffs(tmp_path, d2) == _mql(tmp_path, d2) - mql_d1_after
    assert _handoffs(tmp_path, d2) < handoffs_d2_before
    # lead_scores still shows the latest date, D2, under the new rulebook.
    assert _published(tmp_path, "select distinct cast(score_date as varchar) from lead_scores") == [
        (d2,)
    ]


def test_rows_are_traced_to_the_csv_whatever_their_types(tmp_path: Path) -> None:
    path = tmp_path / "rules.csv"
    path.write_text(
        "model_id,rule_id,points,active,note\nm1,r1,25,true,\nm1,r2,2.50,FALSE,x\nm2,r1,25,true,\n"
    )
    rows = [
        {"model_id": "m1", "points": 25, "active": True, "note": None},
        {"rule_id": "r2", "points": 2.5, "active": False, "n_failures": 3},
        {"rule_id": "r1", "points": 25},
        {"not_a_column": 1},
    ]
    assert locate_in_csv(path, rows) == [[1], [2], [1, 3], []]


def test_a_value_with_spaces_is_traced_to_its_own_row_and_a_bom_is_no_name(
    tmp_path: Path,
) -> None:
    """`'equals '` (one edited row) named every `equals` row, and a byte order
    mark hid the first column, so rows of other models were named (found by the
    rulebook audit). A value a model trimmed still finds its row."""
    path = tmp_path / "fit_rules.csv"
    path.write_text(
        "\ufeffmodel_id, rule_id ,operator\n"
        "all_products,r1,equals\nall_products ,r2,equals \nanalytics,r2,equals\n",
        encoding="utf-8",
    )
    rows = [
        {"model_id": "all_products ", "operator": "equals "},
        {"operator": "equals "},
        {"model_id": "analytics", "rule_id": "r2"},
        {"model_id": "all_products", "rule_id": "r2"},  # trimmed by a model
    ]
    assert locate_in_csv(path, rows) == [[2], [2], [3], [2]]


def _seed_test_manifest(csv_path: Path, test_id: str, column_name: str) -> dict:
    """The part of dbt's manifest describe_test_failure reads: one seed and a
    column test attached to it."""
    seed_id = f"seed.p.{csv_path.stem}"
    return {
        "nodes": {
            seed_id: {"name": csv_path.stem, "original_file_path": str(csv_path)},
            test_id: {
                "attached_node": seed_id,
                "test_metadata": {"kwargs": {"column_name": column_name}},
                "depends_on": {"nodes": [seed_id]},
            },
        }
    }


def test_a_failed_accepted_values_test_on_a_seed_names_row_and_column(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "fit_rules.csv").write_text(
        "model_id,rule_id,operator\nm1,r1,equals\nm1,r2,similar_to\nm2,r2,similar_to\n"
    )
    con = duckdb.connect()
    con.execute(f"create table fit_rules as select * from read_csv('{seeds / 'fit_rules.csv'}')")
    manifest = _seed_test_manifest(seeds / "fit_rules.csv", "test.p.accepted", "operator")
    # dbt's accepted_values query: one row per bad value, with a count
    compiled = (
        "select operator as value_field, count(*) as n_records from fit_rules "
        "where operator not in ('equals') group by operator;"
    )
    text = describe_test_failure(con, manifest, "test.p.accepted", compiled, 1)
    assert text == (
        f"1 failing row(s); e.g. {seeds / 'fit_rules.csv'} rows 2, 3, column operator: 'similar_to'"
    )
    # a test on a model: the rows as they are
    manifest["nodes"]["test.p.model"] = {"depends_on": {"nodes": ["model.p.scores"]}}
    text = describe_test_failure(
        con, manifest, "test.p.model", "select 'C1' as contact_id, 12.50 as score, null as x", 1
    )
    assert text == "1 failing row(s); e.g. contact_id='C1', score=12.5, x=null"


def test_a_seed_file_that_cannot_be_read_still_shows_the_rows(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    # Latin-1, not UTF-8: the file cannot be read back to find the row
    (seeds / "segments.csv").write_bytes("segment,min_employees\nmédium,x\n".encode("latin-1"))
    con = duckdb.connect()
    manifest = _seed_test_manifest(seeds / "segments.csv", "test.p.not_null", "min_employees")
    text = describe_test_failure(
        con, manifest, "test.p.not_null", "select 'm' as segment, null as min_employees", 1
    )
    assert text.startswith(
        f"1 failing row(s); e.g. segment='m', min_employees=null ({seeds / 'segments.csv'} "
        "could not be read to find them: 'utf-8' codec can't decode"
    )


def test_failed_checks_still_go_out_when_dbt_left_no_results(tmp_path: Path) -> None:
    from dagster import AssetCheckResult

    from orchestration.transform import described_failures

    class NoResults:
        manifest = None

        def get_artifact(self, name: str) -> dict:
            raise FileNotFoundError(f"no {name}")

    check = AssetCheckResult(
        passed=False, asset_key="x", check_name="c", metadata={"unique_id": "test.p.c"}
    )
    (out,) = described_failures([check], NoResults(), tmp_path / "warehouse.duckdb")
    assert not out.passed and out.check_name == "c"
    assert out.description.startswith("failing rows could not be shown")
    assert "no run_results.json" in out.description


def test_a_test_that_errored_says_so_instead_of_counting_rows(tmp_path: Path) -> None:
    from dagster import AssetCheckResult

    from orchestration.transform import described_failures

    class Errored:
        manifest = None

        def get_artifact(self, name: str) -> dict:
            return {
                "results": [
                    {
                        "unique_id": "test.p.c",
                        "status": "error",
                        "compiled_code": "select * from nowhere",
                        "message": "Runtime Error\n  Catalog Error: Table nowhere does not exist",
                    }
                ]
            }

    duckdb.connect(str(tmp_path / "warehouse.duckdb")).close()
    check = AssetCheckResult(
        passed=False, asset_key="x", check_name="c", metadata={"unique_id": "test.p.c"}
    )
    (out,) = described_failures([check], Errored(), tmp_path / "warehouse.duckdb")
    assert not out.passed
    assert out.description == (
        "the test errored, it did not run to the end: "
        "Runtime Error Catalog Error: Table nowhere does not exist"
    )
    assert "None" not in out.description


def test_only_tests_about_a_seed_point_at_its_csv() -> None:
    from orchestration.dbt_failures import seed_of_test

    seed = {"name": "segments", "original_file_path": "../seeds/segments.csv"}
    model = {"name": "int_profile"}
    manifest = {"nodes": {"seed.p.segments": seed, "model.p.int_profile": model}}
    # attached to the seed, or named by the Dagster ref, or reading only the seed
    assert seed_of_test(manifest, {"attached_node": "seed.p.segments"}) is seed
    ref = {"meta": {"dagster": {"ref": {"name": "segments"}}}}
    assert seed_of_test(manifest, {"config": ref}) is seed
    assert seed_of_test(manifest, {"depends_on": {"nodes": ["seed.p.segments"]}}) is seed
    # about a model, even one that also reads the seed: no CSV position
    assert seed_of_test(manifest, {"attached_node": "model.p.int_profile"}) is None
    ref = {"meta": {"dagster": {"ref": {"name": "int_profile"}}}}
    both = {"nodes": ["model.p.int_profile", "seed.p.segments"]}
    assert seed_of_test(manifest, {"config": ref, "depends_on": both}) is None
    assert seed_of_test(manifest, {"depends_on": both}) is None


def test_a_failure_while_showing_the_rows_keeps_the_check(tmp_path: Path, monkeypatch) -> None:
    from dagster import AssetCheckResult

    from orchestration import transform

    class Failed:
        manifest = None

        def get_artifact(self, name: str) -> dict:
            return {
                "results": [
                    {"unique_id": "test.p.c", "status": "fail", "compiled_code": "select 1 as x"}
                ]
            }

    def broken(*args, **kwargs):
        raise TypeError("unexpected value")

    monkeypatch.setattr(transform, "describe_test_failure", broken)
    duckdb.connect(str(tmp_path / "warehouse.duckdb")).close()
    check = AssetCheckResult(
        passed=False,
        asset_key="x",
        check_name="c",
        metadata={"unique_id": "test.p.c", "dagster_dbt/failed_row_count": 3},
    )
    (out,) = transform.described_failures([check], Failed(), tmp_path / "warehouse.duckdb")
    assert not out.passed
    assert out.description == (
        "3 failing row(s); running the test's query again to show them failed: unexpected value"
    )
