"""The rulebook CSVs' shape, checked before dbt reads them.

dbt names a CSV row with the wrong number of values only in its log ("Row 50
has 8 values", counting from 0), and a renamed header column only as a
binder error in the first model that reads it. This check names the file,
row and column first: every column the seed's YAML (seeds/*.yml) declares is
in the header, every data row has as many values as the header, and every
value of a typed column (`column_types` double, integer, bigint, boolean)
reads as its type (dbt's loader would stop at the first other one with
DuckDB's CSV dump, naming the file's line, or round a fraction of a day to
a whole one). The values' meaning is judged by the rulebook's dbt tests.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import yaml


class RulebookError(Exception):
    """A rulebook CSV that dbt cannot load as its YAML declares it."""


#: column_types whose values dbt's loader (DuckDB's CSV reader) must be able to
#: read, and what they must be
TYPED_COLUMNS = {
    "double": "a number",
    "integer": "a whole number",
    "bigint": "a whole number",
    "boolean": "true or false (also t/f, yes/no, y/n, 1/0)",
}
#: what DuckDB's CSV reader takes as a boolean (any case, no padding)
BOOLEAN_WORDS = frozenset({"true", "false", "t", "f", "yes", "no", "y", "n", "1", "0"})


def declared_columns(seeds_dir: Path) -> dict[str, tuple[str, list[str]]]:
    """Seed name -> (its YAML file's name, the columns the YAML declares)."""
    declared: dict[str, tuple[str, list[str]]] = {}
    for path in sorted(seeds_dir.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for seed in doc.get("seeds") or []:
            columns = [column["name"] for column in seed.get("columns") or []]
            declared[seed["name"]] = (path.name, columns)
    return declared


def declared_types(seeds_dir: Path) -> dict[str, dict[str, str]]:
    """Seed name -> {column: its column_types type, lower case}."""
    types: dict[str, dict[str, str]] = {}
    for path in sorted(seeds_dir.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for seed in doc.get("seeds") or []:
            column_types = (seed.get("config") or {}).get("column_types") or {}
            types[seed["name"]] = {c.lower(): str(t).lower() for c, t in column_types.items()}
    return types


#: the range of each whole-number type (DuckDB's INTEGER and BIGINT)
WHOLE_NUMBER_RANGES = {"integer": 2**31, "bigint": 2**63}


def _unreadable(value: str, data_type: str) -> str | None:
    """Why a value does not read as the column's type, or None when it does.
    Blank is null (the not_null tests judge it), but only an empty cell: DuckDB
    reads a cell of spaces as a value. Refused on purpose where DuckDB would
    read them: a fraction in a whole-number column (DuckDB rounds it:
    lookback_days 30.5 scored as 31), a hexadecimal whole number, and an
    infinite or undefined number (nan, inf: no score can be rounded from it)."""
    if value == "":
        return None
    text = value.strip()
    if not text:
        return "a cell of spaces; a blank value is an empty cell"
    expected = TYPED_COLUMNS[data_type]
    if data_type == "boolean":
        return None if value.lower() in BOOLEAN_WORDS else f"not {expected}"
    if not value.isascii():  # Python reads other digits and spaces (NBSP); DuckDB not
        return f"not {expected} (characters other than ASCII)"
    try:
        number = float(text)
    except ValueError:
        return f"not {expected}"
    if not math.isfinite(number):
        return f"not {expected} (not finite)"
    if data_type == "double":
        return None
    if not number.is_integer():
        return f"not {expected}"
    try:
        whole = int(text)  # exact, where the double of 2**63 - 1 is not
    except ValueError:
        whole = int(number)  # 1e3, 3.0
    bound = WHOLE_NUMBER_RANGES[data_type]
    if not -bound <= whole < bound:
        return f"out of range for column type {data_type} (from {-bound} to {bound - 1})"
    return None


def check_seed_files(seeds_dir: Path) -> None:
    """Raise RulebookError naming each seed CSV whose header or rows do not fit."""
    problems = []
    all_types = declared_types(seeds_dir)
    for name, (yml, columns) in declared_columns(seeds_dir).items():
        types = all_types.get(name, {})
        path = seeds_dir / f"{name}.csv"
        shown = f"{seeds_dir.name}/{path.name}"
        if not path.is_file():
            problems.append(f"{shown}: missing (seed {name} is declared in {seeds_dir.name}/{yml})")
            continue
        # utf-8-sig: a byte order mark (Excel) is not part of the first name
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            names = [column.lower() for column in header]
            missing = [column for column in columns if column.lower() not in names]
            if missing:
                problems.append(
                    f"{shown}, row 0, column {missing[0]!r}: the header lacks column(s) "
                    f"{missing} (declared in {seeds_dir.name}/{yml}); it has {header}"
                )
                continue
            typed = {
                index: types[names[index]]
                for index in range(len(names))
                if types.get(names[index]) in TYPED_COLUMNS
            }
            for number, row in enumerate(reader, start=1):
                if not row:
                    continue
                if len(row) != len(header):
                    problems.append(
                        f"{shown}, row {number}: {len(row)} values, the header has "
                        f"{len(header)} ({', '.join(header)}); a value with a comma "
                        'needs double quotes ("a, b")'
                    )
                    break
                reasons = ((i, _unreadable(row[i], typed[i])) for i in typed)
                bad, reason = next(((i, r) for i, r in reasons if r), (None, None))
                if bad is not None:
                    problems.append(
                        f"{shown}, row {number}, column {header[bad]!r}: {row[bad]!r} is {reason}"
                    )
                    break
    if problems:
        raise RulebookError(
            "the rulebook cannot be loaded, nothing was scored:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )
