"""Per-partition asset checks of the hourly assets.

The checks are computed by the asset itself while the hour is in memory (re-reading 1.27 M rows to check them
would double the work) and reported as one evaluation per check per hour partition, also in single-run backfills
that build many hours. Per-partition checks are a preview feature in Dagster 1.13 (`partitions_def` on
AssetCheckSpec); they work here, and a failing ERROR check marked blocking fails the step after every hour's
results are recorded, so no downstream asset runs on bad data.
"""

from collections.abc import Iterable

import dagster as dg

from flight_assets.defs.partitions import hourly_partitions
from flight_assets.quality import ERROR, CheckOutcome

VALIDATED_STATES = dg.AssetKey("validated_states")
COUNTRY_AGGREGATES = dg.AssetKey("country_aggregates")

# name -> (blocking, description)
VALIDATED_STATES_CHECKS: dict[str, tuple[bool, str]] = {
    "schema_contract": (True, "The Parquet file has exactly the contracted columns and types."),
    "quality_score": (True, "valid / total rows: ERROR below 90 %, WARN below 98 %; quarantine reasons in metadata."),
    "no_duplicate_states": (True, "At most one row per (snapshot_time, icao24)."),
    "value_ranges": (True, "latitude, longitude, true_track, position_source and category within their domains."),
    "completeness": (False, "Snapshots in the hour vs the cadence the credit governor planned; WARN below 90 %, "
                            "missing slots listed."),
    "row_count_anomaly": (False, "Rows vs the median of the trailing 24 hours; WARN below half or above double."),
}
COUNTRY_AGGREGATES_CHECKS: dict[str, tuple[bool, str]] = {
    "reconciliation": (True, "sum(states) over countries equals the hour's validated rows."),
    "has_countries": (False, "At least one country has states this hour."),
}


def check_specs(asset: dg.AssetKey, checks: dict[str, tuple[bool, str]]) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(name, asset=asset, blocking=blocking, description=description,
                          partitions_def=hourly_partitions)
        for name, (blocking, description) in checks.items()
    ]


def report(
    context: dg.AssetExecutionContext, evaluations: Iterable[dg.AssetCheckEvaluation]
) -> Iterable[dg.AssetCheckEvaluation | dg.Output]:
    """Yield the per-hour evaluations of the selected checks, then the one (empty) output per check step output.

    AssetCheckResult can only speak for the run's single partition; a range run needs one evaluation per hour,
    so we emit AssetCheckEvaluation events ourselves and satisfy each check's output as AssetCheckResult would.
    """
    selected = context.selected_asset_check_keys
    for evaluation in evaluations:
        if evaluation.asset_check_key in selected:
            yield evaluation
    for check_key in sorted(selected, key=lambda k: k.name):
        yield dg.Output(None, output_name=context.job_def.asset_layer.get_op_output_name(check_key))


def evaluations(
    asset: dg.AssetKey, checks: dict[str, tuple[bool, str]], partition_key: str, outcomes: dict[str, CheckOutcome]
) -> Iterable[dg.AssetCheckEvaluation]:
    """One evaluation per check for one hour, with the numbers behind it."""
    for name, outcome in outcomes.items():
        blocking, _ = checks[name]
        yield dg.AssetCheckEvaluation(
            asset_key=asset,
            check_name=name,
            passed=outcome.passed,
            severity=dg.AssetCheckSeverity.ERROR if outcome.severity == ERROR else dg.AssetCheckSeverity.WARN,
            description=outcome.description,
            metadata={"partition": partition_key, **outcome.metadata},
            blocking=blocking,
            partition=partition_key,
        )
