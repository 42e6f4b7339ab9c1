"""The score-date partitioning shared by every asset of the daily job."""

from __future__ import annotations

import warnings

from dagster import BackfillPolicy, BetaWarning, DailyPartitionsDefinition

from orchestration.settings import env_date

# backfill_policy on @asset is beta in Dagster 1.13; we rely on it knowingly.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=BetaWarning)

#: One partition per score date D (UTC calendar date). end_offset=1 makes
#: today a valid partition, so `leadscore run` (default: today) works.
score_date_partitions = DailyPartitionsDefinition(
    start_date=env_date("LEADSCORE_PARTITIONS_START", "2024-01-01"),
    timezone="UTC",
    end_offset=1,
)

#: Scoring is incremental per date (history; hand-offs compare with the
#: previous date, and a run rebuilds the next scored date's too), so a
#: backfill runs one date per run, in date order.
one_date_per_run = BackfillPolicy.multi_run(max_partitions_per_run=1)
