"""The `unique_per` data test's query (macro `unique_per_sql`), compiled by the
real dbt for DuckDB: hash first, then the columns, so it finds exactly what a
plain grouping on the columns finds, hash collisions included."""

from __future__ import annotations

from pathlib import Path

import duckdb
from test_quality_flags import settings_in

from orchestration.dbt_runner import dbt_command

SPLIT = "-- next query --"

ROWS = """
create table t as select * from (values
    (1, 'x', 'first'), (1, 'x', 'again'), (1, 'x', 'third'),
    (2, 'y', 'once'), (2, 'z', 'once'),
    (null, 'n', 'first'), (null, 'n', 'again'),
    (3, null, 'once')
) as v(a, b, c)
"""


def compiled(tmp_path: Path) -> list[str]:
    """The duckdb form, the engine-neutral form and hash first with a hash
    that collides on every row, as dbt compiles them."""
    inline = f"\n{SPLIT}\n".join(
        [
            "{{ leadscore.unique_per_sql('t', ['a', 'b']) }}",
            "{{ leadscore.default__unique_per_sql('t', ['a', 'b']) }}",
            "{{ leadscore.unique_per_hash_first('t', ['a', 'b'], 'always_zero') }}",
        ]
    )
    result = dbt_command(settings_in(tmp_path), "--quiet", "compile", "--inline", inline)
    return [part.strip() for part in result.stdout.split(SPLIT)]


def test_hash_first_finds_exactly_the_repeated_combinations(tmp_path: Path) -> None:
    duckdb_form, plain_form, colliding_form = compiled(tmp_path)
    assert "hash(a, b)" in duckdb_form  # DuckDB runs the hash-first form
    con = duckdb.connect()
    con.execute(ROWS)
    con.execute("create macro always_zero(a, b) as 0")
    expected = {(1, "x", 3), (None, "n", 2)}
    for sql in (duckdb_form, plain_form, colliding_form):
        assert set(con.execute(sql).fetchall()) == expected, sql
    # without duplicates nothing is returned, even when every hash collides
    con.execute("delete from t where c = 'again' or c = 'third'")
    for sql in (duckdb_form, plain_form, colliding_form):
        assert con.execute(sql).fetchall() == [], sql
