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


def _unreadable(value: str, data_type: str) -> bool:
    """True when a non-blank value does not read as the column's type. A
    fraction in a whole-number column is refused: DuckDB would round it
    (lookback_days 30.5 scored as 31)."""
    text = value.strip()
    if not text:
        return False  # blank is null: the not_null tests judge it
    if data_type == "boolean":
        return value.lower() not in BOOLEAN_WORDS
    try:
        number = float(text)
    except ValueError:
        return True
    return data_type != "double" and not number.is_integer()


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
                bad = next((i for i in typed if _unreadable(row[i], typed[i])), None)
                if bad is not None:
                    problems.append(
                        f"{shown}, row {number}, column {header[bad]!r}: {row[bad]!r} is not "
                        f"{TYPED_COLUMNS[typed[bad]]}"
                    )
                    break
    if problems:
        raise RulebookError(
            "the rulebook cannot be loaded, nothing was scored:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )
