"""The rows behind a failed dbt test, in words a rulebook editor can act on.

dbt reports a failed test as a count ("Got 1 result, configured to fail if
!= 0") and the path of its compiled SQL. After the build, the daily job runs
that SQL again (read-only, a few rows) and puts the rows in the check's
description, so the summary of `leadscore run` and the check in Dagster say
what is wrong. When the test is on a rulebook seed, the rows are traced back
to the seed file: `seeds/fit_rules.csv row 5, column operator: 'similar_to'`
("row" counts data rows, header excluded, as for landing files).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from orchestration.settings import DBT_PROJECT_DIR, PROJECT_ROOT

#: rows shown per failed test
MAX_EXAMPLES = 5

#: dbt's built-in tests return the tested column under these names
_COLUMN_ALIASES = ("value_field", "unique_field", "from_field")
#: columns some tests add that are not data (a count per failing value)
_COUNT_COLUMNS = ("n_records",)


def failing_rows(
    con: duckdb.DuckDBPyConnection, compiled_code: str, limit: int = MAX_EXAMPLES
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The first `limit` rows the test's query returns: (column names, rows)."""
    query = compiled_code.strip().rstrip(";")
    cursor = con.execute(f"select * from (\n{query}\n) as test_failures limit {int(limit)}")
    columns = [d[0] for d in cursor.description]
    return columns, cursor.fetchall()


def seed_of_test(manifest: Mapping[str, Any], test: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The seed a test is about: its attached node, the node its Dagster ref names,
    or, for a test that reads nothing but one seed, that seed. None for a test
    about a model, even one that also reads a seed: its rows are not the seed's."""
    nodes = manifest.get("nodes", {})
    attached = test.get("attached_node")
    if attached:
        return nodes.get(attached) if attached.startswith("seed.") else None
    ref = (
        (test.get("config", {}).get("meta") or test.get("meta") or {})
        .get("dagster", {})
        .get("ref", {})
    )
    if ref.get("name"):
        for unique_id, node in nodes.items():
            if unique_id.startswith("seed.") and node.get("name") == ref["name"]:
                return node
        return None
    parents = test.get("depends_on", {}).get("nodes", [])
    if len(parents) == 1 and parents[0].startswith("seed."):
        return nodes.get(parents[0])
    return None


def _normalized(value: Any, trim: bool = True) -> str:
    """A value as text, so that a CSV cell and DuckDB's typed value compare;
    text that is not a number or a boolean keeps its spaces unless `trim`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, decimal.Decimal)):
        number = decimal.Decimal(str(value))
        return format(number.normalize(), "f") if number == number else "nan"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    text = str(value).strip()
    try:
        number = decimal.Decimal(text)
    except decimal.InvalidOperation:
        if text.lower() in ("true", "false"):
            return text.lower()
        return text if trim else str(value)
    return format(number.normalize(), "f") if number.is_finite() else text


def _display(value: Any) -> str:
    """Text in quotes, numbers and dates as they read, null for a missing value."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value)
    return _normalized(value)


def locate_in_csv(path: Path, rows: Sequence[Mapping[str, Any]]) -> list[list[int]]:
    """For each row, the data rows of the CSV (1 = first row after the header)
    whose cells equal the row's values in every column the CSV has: with their
    spaces (`'equals '` is not every `equals` row), else trimmed (a value a
    model trimmed). A byte order mark before the header is not a name."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or []]
        records = [
            {name.strip(): value or "" for name, value in record.items() if name}
            for record in reader
        ]
    cells = {
        trim: [{name: _normalized(value, trim) for name, value in r.items()} for r in records]
        for trim in (False, True)
    }
    found: list[list[int]] = []
    for row in rows:
        matches: list[int] = []
        for trim in (False, True):
            shared = {name: _normalized(v, trim) for name, v in row.items() if name in header}
            matches = [
                number
                for number, record in enumerate(cells[trim], start=1)
                if shared and all(record.get(name, "") == value for name, value in shared.items())
            ]
            if matches:
                break
        found.append(matches)
    return found


def _named_rows(
    columns: Sequence[str], rows: Sequence[tuple[Any, ...]], column_name: str | None
) -> list[dict[str, Any]]:
    """Rows as dicts, the tested column under its own name instead of dbt's alias,
    counts left out."""
    named = []
    for row in rows:
        values: dict[str, Any] = {}
        for name, value in zip(columns, row, strict=True):
            if name in _COUNT_COLUMNS:
                continue
            if column_name and name in _COLUMN_ALIASES:
                name = column_name
            values[name] = value
        named.append(values)
    return named


def _row_text(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{name}={_display(value)}" for name, value in values.items())


def describe_test_failure(
    con: duckdb.DuckDBPyConnection,
    manifest: Mapping[str, Any],
    unique_id: str,
    compiled_code: str,
    failures: int | None,
    limit: int = MAX_EXAMPLES,
) -> str:
    """One line: how many rows fail and the first of them, traced to the seed
    file when the test is on the rulebook."""
    test = manifest.get("nodes", {}).get(unique_id, {})
    column_name = (test.get("test_metadata") or {}).get("kwargs", {}).get("column_name")
    if column_name is None:
        column_name = test.get("column_name")
    columns, rows = failing_rows(con, compiled_code, limit)
    named = _named_rows(columns, rows, column_name)
    count = f"{failures} failing row(s)" if failures is not None else "failing rows"
    if not named:
        return f"{count}; none returned when the test's query ran again"
    seed = seed_of_test(manifest, test)
    examples: list[str] = []
    if seed is not None:
        csv_path = (DBT_PROJECT_DIR / seed["original_file_path"]).resolve()
        try:
            shown = csv_path.relative_to(PROJECT_ROOT)
        except ValueError:
            shown = csv_path
        try:
            located = locate_in_csv(csv_path, named)
        except (OSError, ValueError, csv.Error) as exc:
            # not UTF-8, bad quoting, gone: the rows still show, without their place
            rows_text = "; ".join(_row_text(values) for values in named)
            return f"{count}; e.g. {rows_text} ({shown} could not be read to find them: {exc})"
        for values, numbers in zip(named, located, strict=True):
            if column_name and column_name in values:
                what = f"column {column_name}: {_display(values[column_name])}"
            else:
                what = _row_text(values)
            if numbers:
                label = "row" if len(numbers) == 1 else "rows"
                where = f"{label} {', '.join(str(n) for n in numbers[:limit])}"
                if len(numbers) > limit:
                    where += f" (+{len(numbers) - limit} more)"
                examples.append(f"{shown} {where}, {what}")
            else:
                examples.append(f"{shown} ({what})")
    else:
        examples = [_row_text(values) for values in named]
    return f"{count}; e.g. " + "; ".join(examples)
