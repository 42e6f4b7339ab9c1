"""Runtime settings, all from environment variables with sane defaults.

Paths are resolved to absolute paths once, here, so that DuckDB files and the
landing folder mean the same thing to Dagster, dbt (a subprocess) and tests.
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
SEEDS_DIR = PROJECT_ROOT / "seeds"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
DEFAULT_DUCKDB_MEMORY_LIMIT = "2500MB"


class SettingsError(ValueError):
    """An environment variable holds a value leadscore cannot use; the message
    names the variable, its value and what it expects."""


def env_int(env: str, default: int, minimum: int, maximum: int | None = None) -> int:
    """A whole number from the environment, within [minimum, maximum]."""
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    expected = f"a whole number from {minimum}" + (f" to {maximum}" if maximum is not None else "")
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{env}={raw!r}: expected {expected}") from None
    if value < minimum or (maximum is not None and value > maximum):
        raise SettingsError(f"{env}={raw!r}: expected {expected}")
    return value


def env_date(env: str, default: str) -> str:
    """An ISO date (YYYY-MM-DD) from the environment."""
    raw = os.environ.get(env, "").strip() or default
    try:
        return dt.date.fromisoformat(raw).isoformat()
    except ValueError:
        raise SettingsError(f"{env}={raw!r}: expected a date YYYY-MM-DD") from None


def env_timezone(env: str, default: str) -> str:
    """An IANA time zone name (e.g. Europe/Berlin) from the environment."""
    raw = os.environ.get(env, "").strip() or default
    try:
        zoneinfo.ZoneInfo(raw)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"{env}={raw!r}: expected a time zone such as UTC or Europe/Berlin"
        ) from None
    return raw


_TRUE = ("1", "true", "yes")
_FALSE = ("0", "false", "no")


def env_flag(env: str, default: bool = False, environ: Mapping[str, str] | None = None) -> bool:
    """A switch from the environment: 1/true/yes or 0/false/no (any case); unset
    or blank is `default`. Anything else is an error, not silently off."""
    environ = os.environ if environ is None else environ
    raw = environ.get(env, "").strip()
    if not raw:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise SettingsError(f"{env}={raw!r}: expected 1 or 0 (true/false, yes/no)")


def check_run_settings() -> None:
    """Raise SettingsError for any setting a run reads in its steps that it could
    not use: the batch checks' thresholds and switches, the publish switch and
    storage version, the sensor interval. Called before a run does any work, by `leadscore run` /
    `backfill` (exit 2) and by every Dagster run (UI, schedule, sensor) when it
    takes the warehouse."""
    from orchestration.publish import FULL_ENV, storage_version
    from orchestration.quality import check_settings
    from orchestration.sensors import sensor_interval_seconds

    env_flag(FULL_ENV)
    storage_version()
    sensor_interval_seconds()
    check_settings()
    dbt_target()


DBT_TARGET_ENV = "LEADSCORE_DBT_TARGET"


def dbt_target() -> str:
    """The dbt target `dbt_project/profiles.yml` selects from LEADSCORE_DBT_TARGET
    (unset or blank: `duckdb`, as the profile reads it); raise SettingsError
    when the profile has no such output, so a mistyped name stops a run before
    it ingests anything, not in dbt."""
    import yaml

    target = os.environ.get(DBT_TARGET_ENV, "").strip() or "duckdb"
    profiles = DBT_PROJECT_DIR / "profiles.yml"
    outputs = sorted(yaml.safe_load(profiles.read_text())["leadscore"]["outputs"])
    if target not in outputs:
        raise SettingsError(
            f"{DBT_TARGET_ENV}={target!r}: expected one of {', '.join(outputs)} "
            f"(the outputs of {profiles})"
        )
    return target


def _path(env: str, default: Path) -> Path:
    value = os.environ.get(env)
    path = Path(value).expanduser() if value else default
    if not path.is_absolute():
        path = Path.cwd() / path
    return path.resolve()


@dataclass(frozen=True)
class Settings:
    """Where the pipeline reads and writes; see README "Configuration"."""

    landing_dir: Path
    warehouse_path: Path
    publish_path: Path
    export_dir: Path
    audit_dir: Path
    dagster_home: Path
    dbt_threads: int
    # DuckDB's buffer budget per process (dbt's and ours): a DuckDB size such
    # as "2500MB" or "8GB". Work beyond it spills to a temp folder beside the
    # warehouse. Default kept under 4 GB in total with the orchestrator.
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT

    @classmethod
    def from_env(cls) -> Settings:
        data = PROJECT_ROOT / "data"
        publish_path = _path("LEADSCORE_PUBLISH_PATH", data / "published.duckdb")
        return cls(
            landing_dir=_path("LEADSCORE_LANDING_DIR", data / "landing"),
            warehouse_path=_path("LEADSCORE_WAREHOUSE_PATH", data / "warehouse.duckdb"),
            publish_path=publish_path,
            export_dir=_path("LEADSCORE_EXPORT_DIR", publish_path.parent / "published_parquet"),
            audit_dir=_path("LEADSCORE_AUDIT_DIR", data / "audit"),
            dagster_home=_path("DAGSTER_HOME", data / "dagster_home"),
            dbt_threads=env_int("LEADSCORE_DBT_THREADS", 2, minimum=1),
            duckdb_memory_limit=duckdb_memory_limit(),
        )

    def export_env(self) -> dict[str, str]:
        """The environment dbt needs to see the same paths (profiles.yml reads these)."""
        return {
            "LEADSCORE_LANDING_DIR": str(self.landing_dir),
            "LEADSCORE_WAREHOUSE_PATH": str(self.warehouse_path),
            "LEADSCORE_PUBLISH_PATH": str(self.publish_path),
            "LEADSCORE_DBT_THREADS": str(self.dbt_threads),
            "LEADSCORE_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
        }


def duckdb_memory_limit() -> str:
    """LEADSCORE_DUCKDB_MEMORY_LIMIT, or the default budget; DuckDB itself
    checks the value (a size such as 2500MB or 8GB), once, here."""
    value = os.environ.get("LEADSCORE_DUCKDB_MEMORY_LIMIT", "").strip()
    if not value:
        return DEFAULT_DUCKDB_MEMORY_LIMIT
    if value not in _checked_memory_limits:
        con = duckdb.connect()
        try:
            con.execute(f"set memory_limit = '{value.replace(chr(39), '')}'")
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            raise SettingsError(
                f"LEADSCORE_DUCKDB_MEMORY_LIMIT={value!r}: expected a DuckDB size such as "
                f"2500MB or 8GB ({first})"
            ) from None
        finally:
            con.close()
        _checked_memory_limits.add(value)
    return value


_checked_memory_limits: set[str] = set()
