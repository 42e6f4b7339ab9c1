"""Agreement between score tables: the project's published scores and the baselines.

    python bench/compare.py A.parquet B.parquet [C.parquet ...] [--names a,b,c] [--date D]

Every input is a Parquet file (or `duckdb:<file>:<table>` for a DuckDB table)
with at least contact_id, model_id, score, stage; fit_score and
engagement_score are compared too when both sides have them, to say where a
score difference comes from. Pairs are compared on (contact_id, model_id):
rows only on one side, stage differences, and |score difference| > 0.01.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

TOLERANCE = 0.01
#: A few ulps above the tolerance so that 0.01 differences of rounded decimals pass.
EPSILON = 1e-9


@dataclass
class PairReport:
    left: str
    right: str
    rows_left: int
    rows_right: int
    only_left: int
    only_right: int
    stage_mismatches: int
    score_mismatches: int
    fit_mismatches: int | None
    engagement_mismatches: int | None
    examples: list[dict] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return not (
            self.only_left or self.only_right or self.stage_mismatches or self.score_mismatches
        )

    def summary(self) -> str:
        extra = ""
        if self.fit_mismatches is not None:
            extra = (
                f", fit_score {self.fit_mismatches}, engagement_score {self.engagement_mismatches}"
            )
        return (
            f"{self.left} vs {self.right}: rows {self.rows_left} / {self.rows_right}; "
            f"only in {self.left} {self.only_left}, only in {self.right} {self.only_right}; "
            f"stage mismatches {self.stage_mismatches}, score mismatches (> {TOLERANCE}) "
            f"{self.score_mismatches}{extra}"
        )


def _alias(path: str) -> str:
    return "db_" + "".join(ch if ch.isalnum() else "_" for ch in Path(path).stem) + f"_{len(path)}"


def _relation(source: str) -> str:
    """`file.parquet` or `duckdb:<file>:<schema.table>` as a FROM item."""
    if source.startswith("duckdb:"):
        _, path, table = source.split(":", 2)
        return f"{_alias(path)}.{table}"
    return f"read_parquet('{source}')"


def compare(
    sources: list[str],
    names: list[str],
    score_date: str | None = None,
    examples: int = 5,
) -> list[PairReport]:
    """Compare every pair of sources (first vs each other, then the rest pairwise)."""
    con = duckdb.connect()
    for source in sources:
        if source.startswith("duckdb:"):
            _, path, _ = source.split(":", 2)
            con.execute(f"attach if not exists '{path}' as {_alias(path)} (read_only)")
    relations = {}
    for name, source in zip(names, sources, strict=True):
        rel = _relation(source)
        described = {r[0] for r in con.execute(f"describe select * from {rel}").fetchall()}
        if score_date and "score_date" in described:
            rel = f"(select * from {rel} where cast(score_date as date) = date '{score_date}')"
        columns = {r[0] for r in con.execute(f"describe select * from {rel}").fetchall()}
        con.execute(
            f"create temp table t_{name} as select cast(contact_id as varchar) as contact_id, "
            f"cast(model_id as varchar) as model_id, cast(score as double) as score, "
            f"cast(stage as varchar) as stage, "
            + (
                "cast(fit_score as double) as fit_score, "
                if "fit_score" in columns
                else "cast(null as double) as fit_score, "
            )
            + (
                "cast(engagement_score as double) as engagement_score "
                if "engagement_score" in columns
                else "cast(null as double) as engagement_score "
            )
            + f"from {rel}"
        )
        relations[name] = columns
    reports = []
    pairs = [(names[i], names[j]) for i in range(len(names)) for j in range(i + 1, len(names))]
    limit = TOLERANCE + EPSILON
    for left, right in pairs:
        row = con.execute(
            f"""
            select
                (select count(*) from t_{left}),
                (select count(*) from t_{right}),
                count(*) filter (where r.contact_id is null),
                count(*) filter (where l.contact_id is null),
                count(*) filter (where l.contact_id is not null and r.contact_id is not null
                                 and l.stage is distinct from r.stage),
                count(*) filter (where abs(l.score - r.score) > {limit}),
                count(*) filter (where abs(l.fit_score - r.fit_score) > {limit}),
                count(*) filter (where abs(l.engagement_score - r.engagement_score) > {limit})
            from t_{left} as l
            full outer join t_{right} as r
                on l.contact_id = r.contact_id and l.model_id = r.model_id
            """
        ).fetchone()
        both_have_parts = all(
            "fit_score" in relations[n] and "engagement_score" in relations[n]
            for n in (left, right)
        )
        cursor = con.execute(
            f"""
            select
                coalesce(l.contact_id, r.contact_id) as contact_id,
                coalesce(l.model_id, r.model_id) as model_id,
                l.stage as stage_{left}, r.stage as stage_{right},
                l.score as score_{left}, r.score as score_{right},
                l.fit_score as fit_{left}, r.fit_score as fit_{right},
                l.engagement_score as engagement_{left}, r.engagement_score as engagement_{right}
            from t_{left} as l
            full outer join t_{right} as r
                on l.contact_id = r.contact_id and l.model_id = r.model_id
            where l.contact_id is null or r.contact_id is null
                or l.stage is distinct from r.stage
                or abs(l.score - r.score) > {limit}
            order by abs(coalesce(l.score, 0) - coalesce(r.score, 0)) desc, 1, 2
            limit {int(examples)}
            """
        )
        columns = [d[0] for d in cursor.description]
        found = [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]
        reports.append(
            PairReport(
                left=left,
                right=right,
                rows_left=row[0],
                rows_right=row[1],
                only_left=row[2],
                only_right=row[3],
                stage_mismatches=row[4],
                score_mismatches=row[5],
                fit_mismatches=row[6] if both_have_parts else None,
                engagement_mismatches=row[7] if both_have_parts else None,
                examples=found,
            )
        )
    con.close()
    return reports


def format_reports(reports: list[PairReport]) -> str:
    lines = []
    for report in reports:
        lines.append(("OK   " if report.agrees else "DIFF ") + report.summary())
        for example in report.examples:
            lines.append("       e.g. " + ", ".join(f"{k}={v}" for k, v in example.items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", nargs="+")
    parser.add_argument("--names", default=None, help="comma-separated names, one per source")
    parser.add_argument("--date", default=None, help="only rows of this score_date")
    parser.add_argument("--examples", type=int, default=5)
    args = parser.parse_args(argv)
    names = (
        args.names.split(",")
        if args.names
        else [Path(s).stem.replace("-", "_") for s in args.sources]
    )
    reports = compare(args.sources, names, args.date, args.examples)
    print(format_reports(reports))
    return 0 if all(r.agrees for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
