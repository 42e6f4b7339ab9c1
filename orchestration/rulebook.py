"""The rulebook CSVs' shape, checked before dbt reads them.

dbt names a CSV row with the wrong number of values only in its log ("Row 50
has 8 values", counting from 0), and a renamed header column only as a
binder error in the first model that reads it. This check names the file,
row and column first: every column the seed's YAML (seeds/*.yml) declares is
in the header, and every data row has as many values as the header. The
values themselves are judged by the rulebook's dbt tests.
"""

from __future__ import annotations

import csv
from pathlib import Path

import yaml


class RulebookError(Exception):
    """A rulebook CSV that dbt cannot load as its YAML declares it."""


def declared_columns(seeds_dir: Path) -> dict[str, tuple[str, list[str]]]:
    """Seed name -> (its YAML file's name, the columns the YAML declares)."""
    declared: dict[str, tuple[str, list[str]]] = {}
    for path in sorted(seeds_dir.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for seed in doc.get("seeds") or []:
            columns = [column["name"] for column in seed.get("columns") or []]
            declared[seed["name"]] = (path.name, columns)
    return declared


def check_seed_files(seeds_dir: Path) -> None:
    """Raise RulebookError naming each seed CSV whose header or rows do not fit."""
    problems = []
    for name, (yml, columns) in declared_columns(seeds_dir).items():
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
            for number, row in enumerate(reader, start=1):
                if row and len(row) != len(header):
                    problems.append(
                        f"{shown}, row {number}: {len(row)} values, the header has "
                        f"{len(header)} ({', '.join(header)}); a value with a comma "
                        'needs double quotes ("a, b")'
                    )
                    break
    if problems:
        raise RulebookError(
            "the rulebook cannot be loaded, nothing was scored:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )
