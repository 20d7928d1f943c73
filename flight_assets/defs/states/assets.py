"""The hourly silver and gold assets: `validated_states` and `country_aggregates`.

Both are partitioned by UTC hour; a backfill of many hours is one run (BackfillPolicy.single_run) that builds the
range hour by hour, so only one hour is ever in memory. Re-materializing an hour replaces its one Parquet object
with identical bytes.
"""

import time
from collections.abc import Iterator
from datetime import timedelta

import dagster as dg
from dagster_duckdb import DuckDBResource

from flight_assets import quality
from flight_assets.aggregation import aggregate_country_hour
from flight_assets.credits import plan_cadence
from flight_assets.defs.partitions import hourly_partitions
from flight_assets.defs.resources import FlightLakeResource
from flight_assets.defs.states import checks
from flight_assets.hourly_tables import as_stored, parquet_schema, read_hour, read_raw_hour, replace_hour
from flight_assets.layout import (
    COUNTRY_AGGREGATES_PREFIX,
    QUARANTINE_STATES_PREFIX,
    VALIDATED_STATES_PREFIX,
    partition_start,
)
from flight_assets.validation import VALIDATED_SCHEMA, build_and_write_hour, write_parquet

# The schedule builds an hour 5 minutes after it closes and takes under a minute: an hour older than 2 h means
# the pipeline has stalled.
VALIDATED_CONTRACT = as_stored(VALIDATED_SCHEMA)
HOURLY_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=2), warn_window=timedelta(minutes=80))


def _trailing_rows(instance: dg.DagsterInstance, partition_key: str, in_run: dict[str, int]) -> list[int]:
    """Validated row counts of the 24 hours before `partition_key`, from this run and earlier materializations."""
    start = partition_start(partition_key)
    keys = [(start - timedelta(hours=h)).strftime("%Y-%m-%d-%H:00") for h in range(1, 25)]
    counts = {k: in_run[k] for k in keys if k in in_run}
    wanted = [k for k in keys if k not in counts]
    if wanted:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=checks.VALIDATED_STATES, asset_partitions=wanted), limit=200
        ).records
        for record in records:  # newest first: keep each partition's latest
            event = record.asset_materialization
            if event and event.partition and event.partition not in counts and "rows" in event.metadata:
                counts[event.partition] = int(event.metadata["rows"].value)  # type: ignore[arg-type]
    return list(counts.values())


@dg.asset(
    partitions_def=hourly_partitions,
    deps=["raw_snapshots"],
    group_name="validation",
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=checks.check_specs(checks.VALIDATED_STATES, checks.VALIDATED_STATES_CHECKS),
    kinds={"parquet", "pyarrow"},
    freshness_policy=HOURLY_FRESHNESS,
    description=(
        "Typed, cleaned state vectors of one UTC hour (validated/states/…/hour=HH/part-0.parquet) with "
        "snapshot_time; rejected rows go to quarantine/states/… with a reason code. Exact duplicate snapshots "
        "are skipped."
    ),
)
def validated_states(context: dg.AssetExecutionContext, lake: FlightLakeResource) -> Iterator[object]:
    store = lake.open()
    settings = lake.settings()
    cadence_s = plan_cadence(settings.tier, settings.bbox).interval_s
    pending: list[dg.AssetCheckEvaluation] = []
    rows_in_run: dict[str, int] = {}
    for partition_key in context.partition_keys:
        started = time.perf_counter()
        raw = read_raw_hour(store, partition_key)
        written = build_and_write_hour(raw)
        del raw
        result, validated_bytes, quarantine_bytes = (
            written.result, written.validated_parquet, written.quarantine_parquet)
        replace_hour(store, VALIDATED_STATES_PREFIX, partition_key, validated_bytes)
        replace_hour(store, QUARANTINE_STATES_PREFIX, partition_key, quarantine_bytes)
        stats = result.stats
        rows_in_run[partition_key] = stats.rows_valid
        context.add_asset_metadata(
            {
                "rows": stats.rows_valid,
                "quarantined_rows": stats.rows_quarantined,
                **{f"quarantined_{reason}": n for reason, n in stats.quarantined_by_reason.items() if n},
                "quality_score": round(stats.quality_score, 6),
                "snapshots": len(stats.snapshot_times),
                "duplicate_snapshots": stats.duplicate_snapshots,
                "distinct_aircraft": stats.distinct_aircraft,
                "countries": stats.distinct_countries,
                **{f"flagged_{flag}": n for flag, n in stats.flagged.items()},
                "bytes_in": stats.bytes_in,
                "bytes_out": len(validated_bytes) + len(quarantine_bytes),
                "duration_s": round(time.perf_counter() - started, 3),
            },
            partition_key=partition_key,
        )
        outcomes = {
            "schema_contract": quality.schema_contract(parquet_schema(validated_bytes), VALIDATED_CONTRACT),
            "quality_score": quality.quality_score(stats.rows_valid, stats.rows_total, stats.quarantined_by_reason),
            "no_duplicate_states": quality.no_duplicate_states(result.validated),
            "value_ranges": quality.value_ranges(result.validated),
            "completeness": quality.completeness(stats.snapshot_times, partition_start(partition_key), cadence_s),
            "row_count_anomaly": quality.row_count_anomaly(
                stats.rows_valid, _trailing_rows(context.instance, partition_key, rows_in_run)
            ),
        }
        pending.extend(
            checks.evaluations(checks.VALIDATED_STATES, checks.VALIDATED_STATES_CHECKS, partition_key, outcomes)
        )
        context.log.info(
            f"{partition_key}: {stats.rows_valid:,} valid, {stats.rows_quarantined:,} quarantined from "
            f"{len(stats.snapshot_times)} snapshots in {time.perf_counter() - started:.2f} s"
        )
        del result, written
    yield dg.MaterializeResult()
    yield from checks.report(context, pending)


@dg.asset(
    partitions_def=hourly_partitions,
    deps=[validated_states],
    group_name="aggregation",
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=checks.check_specs(checks.COUNTRY_AGGREGATES, checks.COUNTRY_AGGREGATES_CHECKS),
    kinds={"parquet", "duckdb"},
    freshness_policy=HOURLY_FRESHNESS,
    description=(
        "One row per origin_country per UTC hour (aggregates/country_hourly/…/hour=HH/part-0.parquet): states, "
        "distinct aircraft, airborne/on-ground, altitude and speed figures over airborne rows. Empty "
        "origin_country is reported as 'Unknown'."
    ),
)
def country_aggregates(
    context: dg.AssetExecutionContext, lake: FlightLakeResource, duckdb: DuckDBResource
) -> Iterator[object]:
    store = lake.open()
    pending: list[dg.AssetCheckEvaluation] = []
    with duckdb.get_connection() as conn:
        for partition_key in context.partition_keys:
            started = time.perf_counter()
            validated = read_hour(store, VALIDATED_STATES_PREFIX, partition_key)
            if validated is None:
                raise dg.Failure(
                    description=f"validated_states has no file for {partition_key}: materialize it first",
                )
            table = aggregate_country_hour(conn, validated, partition_start(partition_key))
            data = write_parquet(table)
            replace_hour(store, COUNTRY_AGGREGATES_PREFIX, partition_key, data)
            top = table.sort_by([("states", "descending")]).slice(0, 5).to_pylist()
            context.add_asset_metadata(
                {
                    "countries": table.num_rows,
                    "states": validated.num_rows,
                    "top_countries": ", ".join(f"{r['origin_country']} {r['states']:,}" for r in top),
                    "bytes_out": len(data),
                    "duration_s": round(time.perf_counter() - started, 3),
                },
                partition_key=partition_key,
            )
            outcomes = {
                "reconciliation": quality.reconciliation(table, validated.num_rows),
                "has_countries": quality.has_countries(table),
            }
            pending.extend(checks.evaluations(checks.COUNTRY_AGGREGATES, checks.COUNTRY_AGGREGATES_CHECKS,
                                              partition_key, outcomes))
    yield dg.MaterializeResult()
    yield from checks.report(context, pending)
