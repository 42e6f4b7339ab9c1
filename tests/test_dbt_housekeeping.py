"""What `leadscore` does around dbt on every run: the manifest staleness check
looks at dbt's sources only (not the per-run folders dagster-dbt leaves in
target/), old per-run folders are removed, the latest kept, dbt's version
comes without running dbt, and a build's parse state is kept for the next."""

import os
import sys
from importlib.metadata import version
from pathlib import Path

import dagster_dbt.core.resource as dagster_dbt_resource
import pytest
from packaging.version import Version

from orchestration import cli
from orchestration.transform import (
    PARTIAL_PARSE_FILE,
    LeadscoreDbtCliResource,
    dbt_resource,
    keep_partial_parse,
    prune_run_targets,
)


def _touch(path: Path, mtime: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dbt_dir, seeds = tmp_path / "dbt_project", tmp_path / "seeds"
    _touch(dbt_dir / "models" / "staging" / "stg_a.sql", 1_000)
    _touch(dbt_dir / "dbt_project.yml", 1_000)
    _touch(seeds / "scoring_models.csv", 1_000)
    _touch(dbt_dir / "target" / "manifest.json", 2_000)
    for folder in [*dbt_dir.rglob("*"), *seeds.rglob("*")]:  # the sources' folders: older too
        if folder.is_dir():
            os.utime(folder, (1_000, 1_000))
    monkeypatch.setattr(cli, "DBT_PROJECT_DIR", dbt_dir)
    monkeypatch.setattr(cli, "SEEDS_DIR", seeds)
    return dbt_dir


def test_manifest_is_stale_only_when_a_dbt_source_or_the_rulebook_changed(project: Path):
    assert not cli.manifest_is_stale()
    # dbt's own output, newer than the manifest, does not count
    _touch(project / "target" / "leadscore_dbt_assets-abc-1" / "run_results.json", 3_000)
    _touch(project / "logs" / "dbt.log", 3_000)
    _touch(project / "dbt_packages" / "pkg" / "macros" / "m.sql", 3_000)
    assert not cli.manifest_is_stale()
    # a nested folder named like an output folder is a source
    _touch(project / "models" / "target" / "stg_b.sql", 3_000)
    assert cli.manifest_is_stale()


@pytest.mark.parametrize("changed", ["models/marts/new.sql", "macros/m.sql", "../seeds/x.csv"])
def test_a_newer_source_file_makes_the_manifest_stale(project: Path, changed: str):
    _touch(project / changed, 3_000)
    assert cli.manifest_is_stale()


def test_a_deleted_model_or_a_dangling_link_is_handled(project: Path):
    (project / "models" / "staging" / "broken.sql").symlink_to(project / "nowhere.sql")
    os.utime(project / "models" / "staging", (1_000, 1_000))
    assert not cli.manifest_is_stale()  # an editor's lock file: ignored, no crash
    (project / "models" / "staging" / "stg_a.sql").unlink()  # its folder's mtime moves
    assert cli.manifest_is_stale()


def test_a_missing_manifest_is_stale(project: Path):
    (project / "target" / "manifest.json").unlink()
    assert cli.manifest_is_stale()


def test_old_run_folders_are_removed_and_the_latest_kept(tmp_path: Path):
    target = tmp_path / "target"
    runs = []
    for n in range(25):
        run = target / f"leadscore_dbt_assets-{n:07d}-x"
        _touch(run / "run_results.json", 1_000)
        os.utime(run, (1_000 + n, 1_000 + n))
        runs.append(run)
    others = [
        _touch(target / "manifest.json", 1),
        _touch(target / "compiled" / "leadscore" / "a.sql", 1),
        _touch(target / "other_op-0000001-x" / "run_results.json", 1),
    ]

    removed = prune_run_targets(target, "leadscore_dbt_assets", keep=20)

    assert sorted(removed) == runs[:5]
    assert all(not run.exists() for run in runs[:5])
    assert all(run.exists() for run in runs[5:])
    assert all(path.exists() for path in others)
    assert prune_run_targets(target, "leadscore_dbt_assets", keep=20) == []


def test_dbts_version_comes_from_the_installed_package_not_a_subprocess(
    monkeypatch: pytest.MonkeyPatch,
):
    def no_subprocess(args: list[str], **kwargs: object) -> bytes:
        raise AssertionError(f"ran {args}")

    monkeypatch.setattr(dagster_dbt_resource, "check_output", no_subprocess)
    resource = dbt_resource()
    assert resource._cli_version == Version(version("dbt-core"))
    # a dbt elsewhere (another venv) is still asked
    other = LeadscoreDbtCliResource(project_dir=resource.project_dir, dbt_executable=sys.executable)
    with pytest.raises(AssertionError, match="--version"):
        _ = other._cli_version


def test_a_builds_new_parse_state_is_kept_for_the_next_build(tmp_path: Path):
    project_target, build_target = tmp_path / "target", tmp_path / "target" / "build-1"
    build_target.mkdir(parents=True)
    assert not keep_partial_parse(build_target, project_target)  # dbt wrote none: nothing to do

    (build_target / PARTIAL_PARSE_FILE).write_bytes(b"state after a full parse")
    assert keep_partial_parse(build_target, project_target)
    assert (project_target / PARTIAL_PARSE_FILE).read_bytes() == b"state after a full parse"
    assert not keep_partial_parse(build_target, project_target)  # unchanged: not rewritten
    assert sorted(p.name for p in project_target.iterdir()) == ["build-1", PARTIAL_PARSE_FILE]


class _Invocation:
    """What _only_failed_checks reads of a finished dbt invocation."""

    def __init__(self, target_path: Path, results: list[dict]):
        self.target_path = target_path
        self._results = results

    def get_artifact(self, name: str) -> dict:
        assert name == "run_results.json"
        return {"results": self._results}


def _check(unique_id: str):
    from dagster import AssetCheckResult

    return AssetCheckResult(
        passed=False, check_name=unique_id.split(".")[-1], metadata={"unique_id": unique_id}
    )


def test_a_build_failing_only_on_reported_checks_fails_in_one_line(tmp_path: Path):
    """dagster-dbt's error repeats every failed test under the dbt command line:
    when the failed checks already name them all, the step fails in one line."""
    from orchestration.transform import _only_failed_checks

    results = [
        {"unique_id": "model.leadscore.lead_scores", "status": "success"},
        {"unique_id": "test.leadscore.rate", "status": "fail"},
        {"unique_id": "test.leadscore.later", "status": "skipped"},
        {"unique_id": "operation.leadscore.hook", "status": "success"},
    ]
    failure = _only_failed_checks(_Invocation(tmp_path, results), [_check("test.leadscore.rate")])
    assert failure is not None
    assert failure.description == (
        "dbt build failed: 1 dbt test(s) failed, each named in its failed check; "
        f"dbt's log: {tmp_path / 'dbt.log'}"
    )
    # a failure no check names (a model's SQL error) keeps dagster-dbt's error
    errored = [*results, {"unique_id": "model.leadscore.account_scores", "status": "error"}]
    invocation = _Invocation(tmp_path, errored)
    assert _only_failed_checks(invocation, [_check("test.leadscore.rate")]) is None
    assert _only_failed_checks(_Invocation(tmp_path, results), []) is None
