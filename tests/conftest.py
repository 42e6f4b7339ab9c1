"""Shared fixtures: every test gets its own warehouse, landing and publish paths
under tmp_path, and runs the real dbt (as a subprocess) against them."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from orchestration.dbt_runner import dbt_command
from orchestration.settings import Settings


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Point every LEADSCORE_* path into tmp_path (hermetic tests)."""
    env = {
        "LEADSCORE_LANDING_DIR": tmp_path / "landing",
        "LEADSCORE_WAREHOUSE_PATH": tmp_path / "warehouse.duckdb",
        "LEADSCORE_PUBLISH_PATH": tmp_path / "published" / "published.duckdb",
        "LEADSCORE_EXPORT_DIR": tmp_path / "published" / "parquet",
        "LEADSCORE_AUDIT_DIR": tmp_path / "audit",
        "DAGSTER_HOME": tmp_path / "dagster_home",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    (tmp_path / "dagster_home").mkdir()
    return Settings.from_env()


def run_dbt_command(
    settings: Settings, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the real dbt CLI against the settings' warehouse; fail with dbt's output."""
    result = dbt_command(settings, *args, check=False)
    if check and result.returncode != 0:
        pytest.fail(
            f"dbt {' '.join(args)} failed:\n{result.stdout[-8000:]}\n{result.stderr[-4000:]}"
        )
    return result


@pytest.fixture
def run_dbt(settings: Settings) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`run_dbt("build", "--vars", "{score_date: 2026-01-31}")`."""

    def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_dbt_command(settings, *args, check=check)

    return _run


@contextlib.contextmanager
def _lock_held_elsewhere(lock: Path) -> Iterator[None]:
    """Another process holds `lock` (a warehouse's run lock) for the block; its
    note names it `pid 4242, started earlier`."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import fcntl, time
                handle = open({str(lock)!r}, "a+")
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                handle.write("pid 4242, started earlier"); handle.flush()
                print("locked", flush=True)
                time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.kill()
        holder.wait()


@pytest.fixture
def lock_held_elsewhere() -> Callable[[Path], contextlib.AbstractContextManager[None]]:
    """`with lock_held_elsewhere(path):` another process holds the lock file."""
    return _lock_held_elsewhere
