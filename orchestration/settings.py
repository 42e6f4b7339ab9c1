"""Runtime settings, all from environment variables with sane defaults.

Paths are resolved to absolute paths once, here, so that DuckDB files and the
landing folder mean the same thing to Dagster, dbt (a subprocess) and tests.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
SEEDS_DIR = PROJECT_ROOT / "seeds"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
DEFAULT_DUCKDB_MEMORY_LIMIT = "2500MB"


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
            dbt_threads=int(os.environ.get("LEADSCORE_DBT_THREADS", "2")),
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
    """LEADSCORE_DUCKDB_MEMORY_LIMIT, or the default budget."""
    value = os.environ.get("LEADSCORE_DUCKDB_MEMORY_LIMIT", "").strip()
    return value or DEFAULT_DUCKDB_MEMORY_LIMIT
