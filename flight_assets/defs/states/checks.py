"""Per-hour asset checks of the hourly tables, and how their results are tied to each hour's materialization.

The checks are computed by the build itself while the hour is in memory (re-reading 1.27 M rows to check them
would double the work) and reported as one evaluation per check per hour. Dagster counts an evaluation towards
an hour's status (each check's Partitions tab) only when it names the materialization it checked, so each
evaluation is emitted right after its hour's materialization and tied to it (`tied_to_materialization`).
"""

from collections.abc import Mapping

import dagster as dg

# The one place Dagster 1.13 offers to tie an evaluation to a materialization is this internal record (the public
# AssetCheckResult fills it only for single-partition steps). test_states_assets reads the per-hour statuses back
# through GraphQL, so an upgrade that changes it fails there, loudly.
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)

from flight_assets.defs.partitions import hourly_partitions
from flight_assets.states.quality import ERROR, CheckOutcome

VALIDATED_STATES = dg.AssetKey("validated_states")
COUNTRY_AGGREGATES = dg.AssetKey("country_aggregates")

# name -> (blocking, description). Blocking: a failed ERROR result stops that hour from flowing downstream and
# fails the run once every hour's results are recorded.
VALIDATED_STATES_CHECKS: dict[str, tuple[bool, str]] = {
    "schema_contract": (True, "The Parquet file has exactly the contracted columns and types."),
    "quality_score": (True, "valid / total rows: ERROR below 90 % or with no rows at all, WARN below 98 % or when "
                            "a raw object was quarantined whole (unreadable, or dated outside the hour)."),
    "no_duplicate_states": (True, "At most one row per (snapshot_time, icao24)."),
    "value_ranges": (True, "latitude, longitude, true_track, position_source and category within their domains."),
    "completeness": (False, "Snapshots in the hour vs the cadence the credit governor planned; WARN below 90 %, "
                            "missing slots listed."),
    "row_count_anomaly": (False, "Rows vs the median of the trailing 24 hours; WARN below half or above double."),
}
COUNTRY_AGGREGATES_CHECKS: dict[str, tuple[bool, str]] = {
    "reconciliation": (True, "sum(states) over countries equals the hour's validated rows."),
    "has_countries": (True, "At least one country has states this hour."),
}
CHECKS: dict[dg.AssetKey, dict[str, tuple[bool, str]]] = {
    VALIDATED_STATES: VALIDATED_STATES_CHECKS,
    COUNTRY_AGGREGATES: COUNTRY_AGGREGATES_CHECKS,
}


def check_specs() -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(name, asset=asset, blocking=blocking, description=description,
                          partitions_def=hourly_partitions)
        for asset, checks in CHECKS.items()
        for name, (blocking, description) in checks.items()
    ]


def blocks_downstream(asset: dg.AssetKey, outcomes: Mapping[str, CheckOutcome]) -> list[str]:
    """Names of the blocking checks that failed with ERROR severity for one hour."""
    return [name for name, outcome in outcomes.items()
            if CHECKS[asset][name][0] and not outcome.passed and outcome.severity == ERROR]


def latest_own_materialization(context: dg.AssetExecutionContext, asset: dg.AssetKey,
                               partition_key: str) -> dg.EventLogRecord:
    """The materialization of `asset`/`partition_key` this run just recorded (not a concurrent run's)."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset, asset_partitions=[partition_key]), limit=10
    ).records
    for record in records:  # newest first
        if record.run_id == context.run.run_id:
            return record
    raise RuntimeError(f"the materialization of {asset.to_user_string()} {partition_key} was not recorded")


def tied_to_materialization(record: dg.EventLogRecord, asset: dg.AssetKey, partition_key: str,
                            outcomes: Mapping[str, CheckOutcome],
                            selected: set[dg.AssetCheckKey]) -> list[dg.AssetCheckEvaluation]:
    """One evaluation per selected check of one hour, each naming the materialization it checked."""
    target = AssetCheckEvaluationTargetMaterializationData(
        storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
    )
    return [
        dg.AssetCheckEvaluation(
            asset_key=asset,
            check_name=name,
            passed=outcome.passed,
            severity=dg.AssetCheckSeverity.ERROR if outcome.severity == ERROR else dg.AssetCheckSeverity.WARN,
            description=outcome.description,
            metadata={"partition": partition_key, **outcome.metadata},
            blocking=CHECKS[asset][name][0],
            partition=partition_key,
            target_materialization_data=target,
        )
        for name, outcome in outcomes.items()
        if dg.AssetCheckKey(asset, name) in selected
    ]
