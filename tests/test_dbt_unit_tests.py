"""Every dbt unit test (`unit_tests:` in the model YAMLs) runs here, in CI.

The daily job excludes them (`exclude="test_type:unit"` on the dbt assets):
they pin formulas on fixed rows and say nothing about the day's data.
"""

from __future__ import annotations

import json
from pathlib import Path

from orchestration.ingest import load_landing
from orchestration.quality import check_emails
from orchestration.reference import load_reference_lists
from orchestration.resources import connect
from orchestration.settings import Settings


def test_every_dbt_unit_test_passes(settings: Settings, run_dbt) -> None:
    landing = settings.landing_dir
    (landing / "crm").mkdir(parents=True)
    (landing / "marketing").mkdir()
    (landing / "crm" / "accounts.csv").write_text("account_id,account_name\nA1,Acme\n")
    (landing / "crm" / "contacts.csv").write_text(
        "contact_id,email,created_at,account_id\nC1,ana@acme.io,2026-01-01,A1\n"
    )
    (landing / "marketing" / "activities_1.csv").write_text(
        "activity_id,contact_id,activity_type,occurred_at\nX1,C1,page_view,2026-01-02\n"
    )
    load_landing(settings)
    con = connect(settings.warehouse_path)
    try:
        load_reference_lists(con)
    finally:
        con.close()
    check_emails(settings)
    # Unit tests need their input relations to exist: build everything empty.
    run_dbt("seed")
    run_dbt("run", "--empty", "--vars", "{score_date: 2026-01-31}")
    result = run_dbt("test", "--select", "test_type:unit", "--vars", "{score_date: 2026-01-31}")
    target = settings.warehouse_path.parent / "dbt_target"
    results = json.loads(Path(target / "run_results.json").read_text())["results"]
    # (the project's on-run-end hook is a result too, with status "success")
    statuses = {
        r["unique_id"]: r["status"] for r in results if r["unique_id"].startswith("unit_test.")
    }
    assert len(statuses) >= 30, result.stdout[-2000:]
    assert set(statuses.values()) == {"pass"}, statuses
