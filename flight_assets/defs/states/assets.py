"""The hourly silver and gold tables, `validated_states` and `country_aggregates`, built by one multi-asset.

Why one step for both: each hour is built, published, reported and checked on its own, in hour order, before the
next hour starts (hourly_build's write-audit-publish), so a failure in hour 20 of a range run leaves hours 18-19
published *with* their materializations and per-hour check results, and hour 20 untouched. Dagster emits an
asset's output materializations only when its step ends, for the whole range; the assets therefore report each
hour's materialization themselves and yield no output (the specs are `skippable`), and the aggregate of an hour
is built right after that hour passed its blocking checks, in the same step.
"""


from collections.abc import Iterator
from datetime import timedelta

import dagster as dg
import pyarrow as pa
from dagster_duckdb import DuckDBResource

from flight_assets.defs.ingestion.assets import raw_snapshots
from flight_assets.defs.partitions import hourly_partitions
from flight_assets.defs.resources import FlightLakeResource
from flight_assets.defs.states import checks
from flight_assets.defs.states.checks import COUNTRY_AGGREGATES, VALIDATED_STATES
from flight_assets.defs.table_metadata import column_lineage, column_schema
from flight_assets.lake.layout import PARTITION_KEY_FORMAT, partition_start
from flight_assets.opensky.credits import plan_cadence
from flight_assets.states import HOURS_PER_BACKFILL_RUN
from flight_assets.states.aggregation import COLUMN_SOURCES, COUNTRY_AGGREGATES_SCHEMA
from flight_assets.states.build import (
    AggregatedHour,
    MissingValidatedHour,
    NoRawData,
    ValidatedHour,
    build_aggregates,
    build_validated,
    validated_outcomes,
)
from flight_assets.states.validation import VALIDATED_SCHEMA

# The automation builds an hour as soon as it closes and takes seconds; one older than 80 min means it stalled.
HOURLY_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=2), warn_window=timedelta(minutes=80))
# Snapshots of an hour can land after it closed: the Lambda's last poll, the landing sensor's one-minute lag, and
# `flight-assets repair`, which can fetch up to an hour back. Hours this far back are rebuilt when that happens.
LATE_SNAPSHOT_LOOKBACK = timedelta(hours=3)
# Build a closed hour once raw data for it exists, rebuild it when a late snapshot lands; never an hour without
# raw data (any_deps_missing), never while the hour or its raw data is in progress. eager() with a lookback.
HOURLY_AUTOMATION = dg.AutomationCondition.eager().replace(
    "in_latest_time_window", dg.AutomationCondition.in_latest_time_window(LATE_SNAPSHOT_LOOKBACK)
)
# Transient failures (S3 throttling or a dropped connection) are retried with backoff; data problems are not
# (they raise Failure(allow_retries=False)): rebuilding an hour whose data is bad gives the same answer.
HOURLY_RETRY = dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
OWNERS = ["team:flight-data"]
AGGREGATES_COLUMN_LINEAGE = column_lineage(COLUMN_SOURCES, VALIDATED_STATES)

validated_states_spec = dg.AssetSpec(
    VALIDATED_STATES,
    deps=[raw_snapshots],
    group_name="validation",
    skippable=True,
    kinds={"parquet", "pyarrow"},
    owners=OWNERS,
    tags={"layer": "silver"},
    freshness_policy=HOURLY_FRESHNESS,
    automation_condition=HOURLY_AUTOMATION,
    metadata={"dagster/column_schema": column_schema(VALIDATED_SCHEMA)},
    description=(
        "Typed, cleaned state vectors of one UTC hour (validated/states/…/hour=HH/part-0.parquet) with "
        "snapshot_time; rejected rows, unreadable raw objects and bodies dated outside the hour go to "
        "quarantine/states/… with a reason code. Exact duplicate snapshots are skipped. An hour without raw "
        "snapshots is never built: it stays missing."
    ),
)
country_aggregates_spec = dg.AssetSpec(
    COUNTRY_AGGREGATES,
    deps=[VALIDATED_STATES],
    group_name="aggregation",
    skippable=True,
    kinds={"parquet", "duckdb"},
    owners=OWNERS,
    tags={"layer": "gold"},
    freshness_policy=HOURLY_FRESHNESS,
    automation_condition=HOURLY_AUTOMATION,
    metadata={
        "dagster/column_schema": column_schema(COUNTRY_AGGREGATES_SCHEMA),
        "dagster/column_lineage": AGGREGATES_COLUMN_LINEAGE,
    },
    description=(
        "One row per origin_country per UTC hour (aggregates/country_hourly/…/hour=HH/part-0.parquet): states, "
        "distinct aircraft, airborne/on-ground, altitude and speed figures over airborne rows. Empty "
        "origin_country is reported as 'Unknown'. Built only from an hour whose validated_states passed its "
        "blocking checks."
    ),
)


def _trailing_rows(instance: dg.DagsterInstance, partition_key: str, in_run: dict[str, int]) -> list[int]:
    """Validated row counts of the 24 hours before `partition_key`, from this run and earlier materializations."""
    start = partition_start(partition_key)
    keys = [(start - timedelta(hours=h)).strftime(PARTITION_KEY_FORMAT) for h in range(1, 25)]
    counts = {k: in_run[k] for k in keys if k in in_run}
    wanted = [k for k in keys if k not in counts]
    if wanted:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=VALIDATED_STATES, asset_partitions=wanted), limit=200
        ).records
        for record in records:  # newest first: keep each partition's latest
            event = record.asset_materialization
            if event and event.partition and event.partition not in counts and "rows" in event.metadata:
                counts[event.partition] = int(event.metadata["rows"].value)  # type: ignore[arg-type]
    return list(counts.values())


def _validated_materialization(hour: ValidatedHour, uri: str, quarantine_uri: str) -> dg.AssetMaterialization:
    stats = hour.written.result.stats
    return dg.AssetMaterialization(
        asset_key=VALIDATED_STATES,
        partition=hour.partition_key,
        description=f"{stats.rows_valid:,} valid rows from {len(stats.snapshot_times)} snapshots",
        metadata={
            "dagster/row_count": stats.rows_valid,
            "dagster/uri": dg.MetadataValue.path(uri),
            "quarantine_uri": dg.MetadataValue.path(quarantine_uri),
            "rows": stats.rows_valid,
            "quarantined_rows": stats.rows_quarantined,
            **{f"quarantined_{reason}": n for reason, n in stats.quarantined_by_reason.items() if n},
            **{f"objects_{reason}": n for reason, n in stats.objects_quarantined.items() if n},
            "quarantined_object_keys": ", ".join(stats.quarantined_object_keys[:10]),
            "quality_score": round(stats.quality_score, 6),
            "snapshots": len(stats.snapshot_times),
            "duplicate_snapshots": stats.duplicate_snapshots,
            "distinct_aircraft": stats.distinct_aircraft,
            "countries": stats.distinct_countries,
            **{f"flagged_{flag}": n for flag, n in stats.flagged.items()},
            "raw_objects": len(hour.inputs.objects),
            "raw_fingerprint": hour.inputs.fingerprint,
            "builds": hour.builds,
            "bytes_in": stats.bytes_in,
            "bytes_out": len(hour.written.validated_parquet) + len(hour.written.quarantine_parquet),
            "duration_s": round(hour.seconds, 3),
        },
    )


def _aggregates_materialization(hour: AggregatedHour, uri: str) -> dg.AssetMaterialization:
    top = hour.table.sort_by([("states", "descending")]).slice(0, 5).to_pylist()
    return dg.AssetMaterialization(
        asset_key=COUNTRY_AGGREGATES,
        partition=hour.partition_key,
        description=f"{hour.table.num_rows} countries, {hour.validated_rows:,} states",
        metadata={
            "dagster/row_count": hour.table.num_rows,
            "dagster/uri": dg.MetadataValue.path(uri),
            "dagster/column_lineage": AGGREGATES_COLUMN_LINEAGE,
            "countries": hour.table.num_rows,
            "states": hour.validated_rows,
            "top_countries": ", ".join(f"{r['origin_country']} {r['states']:,}" for r in top),
            "bytes_out": hour.parquet_bytes,
            "duration_s": round(hour.seconds, 3),
        },
    )


@dg.multi_asset(
    name="hourly_tables",
    specs=[validated_states_spec, country_aggregates_spec],
    check_specs=checks.check_specs(),
    partitions_def=hourly_partitions,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=HOURS_PER_BACKFILL_RUN),
    can_subset=True,
    retry_policy=HOURLY_RETRY,
    # One pool for every hourly build: the instance's pool limit bounds how many run at once (1 on a 2-core
    # laptop, the number of parallel ECS tasks on AWS), whatever started them.
    pool="hourly_tables",
    description="Builds validated_states and country_aggregates hour by hour: build, check, publish, report.",
)
def hourly_tables(context: dg.AssetExecutionContext, lake: FlightLakeResource,
                  duckdb: DuckDBResource) -> Iterator[object]:
    store = lake.open()
    settings = lake.settings()
    cadence_s = plan_cadence(settings.tier, settings.bbox).interval_s
    selected_checks = set(context.selected_asset_check_keys)
    build_validated_hours = VALIDATED_STATES in context.selected_asset_keys
    build_aggregate_hours = COUNTRY_AGGREGATES in context.selected_asset_keys
    rows_in_run: dict[str, int] = {}
    without_raw: list[str] = []
    blocked: dict[str, list[str]] = {}
    with duckdb.get_connection() as conn:
        for partition_key in context.partition_keys:
            validated: pa.Table | None = None
            if build_validated_hours:
                try:
                    hour = build_validated(store, partition_key)
                except NoRawData as exc:
                    context.log.warning(str(exc))
                    without_raw.append(partition_key)
                    continue
                stats = hour.written.result.stats
                rows_in_run[partition_key] = stats.rows_valid
                yield _validated_materialization(hour, store.object_uri(hour.validated_key),
                                                 store.object_uri(hour.quarantine_key))
                outcomes = validated_outcomes(
                    hour, cadence_s, _trailing_rows(context.instance, partition_key, rows_in_run))
                record = checks.latest_own_materialization(context, VALIDATED_STATES, partition_key)
                yield from checks.tied_to_materialization(record, VALIDATED_STATES, partition_key, outcomes,
                                                          selected_checks)
                context.log.info(
                    f"{partition_key}: {stats.rows_valid:,} valid, {stats.rows_quarantined:,} quarantined rows, "
                    f"{sum(stats.objects_quarantined.values())} quarantined objects, from "
                    f"{len(stats.snapshot_times)} snapshots in {hour.seconds:.2f} s"
                )
                failed = checks.blocks_downstream(VALIDATED_STATES, outcomes)
                if failed:
                    blocked[partition_key] = [f"validated_states {name}" for name in failed]
                    continue
                validated = hour.written.result.validated
                del hour
            if build_aggregate_hours:
                try:
                    aggregated = build_aggregates(conn, store, partition_key, validated)
                except MissingValidatedHour as exc:
                    context.log.warning(str(exc))
                    blocked[partition_key] = ["validated_states has no file for this hour"]
                    continue
                yield _aggregates_materialization(aggregated, store.object_uri(aggregated.key))
                record = checks.latest_own_materialization(context, COUNTRY_AGGREGATES, partition_key)
                yield from checks.tied_to_materialization(record, COUNTRY_AGGREGATES, partition_key,
                                                          aggregated.outcomes, selected_checks)
                failed = checks.blocks_downstream(COUNTRY_AGGREGATES, aggregated.outcomes)
                if failed:
                    blocked[partition_key] = [f"country_aggregates {name}" for name in failed]
    problems = []
    if without_raw:
        problems.append(f"no snapshot was landed for {', '.join(without_raw)}: left missing, not built")
    if blocked:
        problems.append("blocking checks failed for " + "; ".join(
            f"{hour} ({', '.join(names)})" for hour, names in blocked.items()) + ": nothing of those hours "
            "flowed downstream; their files stay for inspection")
    if problems:
        built = len(context.partition_keys) - len(without_raw) - len(blocked)
        raise dg.Failure(
            description=f"{built} of {len(context.partition_keys)} hours built; " + "; ".join(problems) + ".",
            metadata={"hours_without_raw_data": ", ".join(without_raw), "hours_blocked": ", ".join(blocked)},
            allow_retries=False,
        )
    for check_key in sorted(selected_checks, key=lambda k: (k.asset_key.to_user_string(), k.name)):
        # Each check is also a step output; its results were reported per hour above.
        yield dg.Output(None, output_name=context.job_def.asset_layer.get_op_output_name(check_key))
