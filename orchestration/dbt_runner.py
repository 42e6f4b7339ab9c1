"""Running the dbt CLI outside Dagster (manifest preparation, tests, scripts).

dbt is the executable beside this interpreter, never the one on PATH, so
`leadscore` works from cron or CI with no virtualenv activated.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from orchestration.settings import DBT_PROJECT_DIR, Settings


def dbt_executable() -> Path:
    """The dbt installed beside this Python interpreter."""
    candidate = Path(sys.executable).parent / "dbt"
    if not candidate.exists():
        raise FileNotFoundError(
            f"dbt not found at {candidate}; install the project (make install) into this venv"
        )
    return candidate


class DbtCommandFailed(RuntimeError):
    """dbt exited non-zero; the message carries the end of its output."""


def dbt_command(
    settings: Settings | None, *args: str, check: bool = True, own_target: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run `dbt <args>` against the settings' warehouse.

    With `own_target`, artefacts go to a folder beside the warehouse so that
    parallel callers (tests) never share dbt_project/target.
    """
    cmd = [str(dbt_executable()), *args]
    cmd += ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    env = dict(os.environ)
    if settings is not None:
        env.update(settings.export_env())
        if own_target:
            target = settings.warehouse_path.parent / "dbt_target"
            cmd += ["--target-path", str(target), "--log-path", str(target / "logs")]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise DbtCommandFailed(
            f"dbt {' '.join(args)} failed:\n{result.stdout[-8000:]}\n{result.stderr[-4000:]}"
        )
    return result
