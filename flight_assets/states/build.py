"""Building one hour of the silver and gold tables in the lake, the way every run does it. No Dagster import.

Per hour, write-audit-publish:
- the hour's inputs are its raw objects (key, size); their fingerprint says what a build read;
- an hour with no raw object raises `NoRawData`: it is never published as an empty success;
- the hour is built and checked in memory; just before publishing, the raw hour is listed again and, if a snapshot
  landed meanwhile, the hour is rebuilt from the newer inputs. So a run that read fewer snapshots (an older run
  still finishing) never replaces what a newer build published: both publish the same, newest, bytes;
- publishing is one atomic object per table and hour (hourly_tables.replace_hour).
The Dagster assets (defs/states) turn what these functions return into materializations and check results.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from flight_assets.lake.hourly_tables import RawObjects, read_hour, replace_hour
from flight_assets.lake.layout import (
    COUNTRY_AGGREGATES_PREFIX,
    QUARANTINE_STATES_PREFIX,
    VALIDATED_STATES_PREFIX,
    parse_raw_key,
    partition_start,
    raw_hour_prefix,
)
from flight_assets.lake.parquet import as_stored, parquet_schema, write_parquet
from flight_assets.lake.store import Lake
from flight_assets.states import quality
from flight_assets.states.aggregation import aggregate_country_hour
from flight_assets.states.validation import VALIDATED_SCHEMA, WrittenHour, build_and_write_hour

VALIDATED_CONTRACT = as_stored(VALIDATED_SCHEMA)
# A snapshot lands every 30 s at most: three builds in a row that each saw a new one means the hour is still
# filling (someone built the open hour); the next build, after it closes, will catch up.
MAX_BUILDS = 3


class NoRawData(LookupError):
    """No raw snapshot was landed for the hour; the message says which hour and where nothing was found."""


class MissingValidatedHour(LookupError):
    """country_aggregates was asked for an hour whose validated_states file does not exist."""


class InputsKeptChanging(RuntimeError):
    """Snapshots kept landing in the hour while it was being built."""


@dataclass(frozen=True)
class RawInputs:
    partition_key: str
    objects: tuple[tuple[str, int], ...]  # (key, size) of every raw snapshot object of the hour, key order

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256("".join(f"{key} {size}\n" for key, size in self.objects).encode())
        return digest.hexdigest()[:16]


def list_raw_inputs(lake: Lake, partition_key: str) -> RawInputs:
    objects = tuple((obj.key, obj.size) for obj in lake.list(raw_hour_prefix(partition_key) + "/")
                    if parse_raw_key(obj.key))
    return RawInputs(partition_key, objects)


@dataclass(frozen=True)
class ValidatedHour:
    partition_key: str
    inputs: RawInputs
    written: WrittenHour
    validated_key: str
    quarantine_key: str
    builds: int  # 1, or more when snapshots landed while the hour was being built
    seconds: float


def build_validated(lake: Lake, partition_key: str, *,
                    before_publish: Callable[[RawInputs], None] | None = None) -> ValidatedHour:
    """Build, then publish, validated_states and its quarantine for one hour (see the module docstring).

    `before_publish` runs between the build and the final re-listing of the inputs (a test seam for a snapshot
    that lands, or a newer run that publishes, while this build is in flight)."""
    started = time.perf_counter()
    hour_start = int(partition_start(partition_key).timestamp())
    for build in range(1, MAX_BUILDS + 1):
        inputs = list_raw_inputs(lake, partition_key)
        if not inputs.objects:
            raise NoRawData(
                f"no snapshot was landed for hour {partition_key} (nothing under {raw_hour_prefix(partition_key)}/ "
                f"in {lake.uri}): the hour is left missing. Land snapshots for it (ingestion, `flight-assets "
                "land` or `flight-assets repair`) and build it again."
            )
        written = build_and_write_hour(RawObjects(lake, tuple(key for key, _ in inputs.objects)),
                                       hour_start=hour_start)
        if before_publish is not None:
            before_publish(inputs)
        if list_raw_inputs(lake, partition_key) != inputs:
            continue  # a snapshot landed meanwhile: rebuild from the newer inputs rather than publish older ones
        validated_key = replace_hour(lake, VALIDATED_STATES_PREFIX, partition_key, written.validated_parquet)
        quarantine_key = replace_hour(lake, QUARANTINE_STATES_PREFIX, partition_key, written.quarantine_parquet)
        return ValidatedHour(partition_key, inputs, written, validated_key, quarantine_key, build,
                             time.perf_counter() - started)
    raise InputsKeptChanging(
        f"hour {partition_key}: new snapshots landed during each of {MAX_BUILDS} builds; it is still filling, "
        "so it was not published. It is built again once it closes."
    )


def validated_outcomes(hour: ValidatedHour, cadence_s: int, trailing_rows: Sequence[int]
                       ) -> dict[str, quality.CheckOutcome]:
    """The validated_states checks of one built hour, keyed by check name."""
    result = hour.written.result
    stats = result.stats
    return {
        "schema_contract": quality.schema_contract(parquet_schema(hour.written.validated_parquet), VALIDATED_CONTRACT),
        "quality_score": quality.quality_score(stats.rows_valid, stats.rows_total, stats.quarantined_by_reason,
                                               stats.objects_quarantined),
        "no_duplicate_states": quality.no_duplicate_states(result.validated),
        "value_ranges": quality.value_ranges(result.validated),
        "completeness": quality.completeness(stats.snapshot_times, partition_start(hour.partition_key), cadence_s),
        "row_count_anomaly": quality.row_count_anomaly(stats.rows_valid, trailing_rows),
    }


@dataclass(frozen=True)
class AggregatedHour:
    partition_key: str
    table: pa.Table
    parquet_bytes: int
    key: str
    validated_rows: int
    seconds: float
    outcomes: dict[str, quality.CheckOutcome]


def build_aggregates(conn: duckdb.DuckDBPyConnection, lake: Lake, partition_key: str,
                     validated: pa.Table | None = None) -> AggregatedHour:
    """Aggregate, check and publish country_aggregates for one hour, from `validated` or the published file."""
    started = time.perf_counter()
    if validated is None:
        validated = read_hour(lake, VALIDATED_STATES_PREFIX, partition_key)
        if validated is None:
            raise MissingValidatedHour(
                f"country_aggregates for {partition_key} needs validated_states for that hour, which has no "
                "file yet: materialize validated_states for it first (or both together)."
            )
    table = aggregate_country_hour(conn, validated, partition_start(partition_key))
    data = write_parquet(table)
    key = replace_hour(lake, COUNTRY_AGGREGATES_PREFIX, partition_key, data)
    outcomes = {
        "reconciliation": quality.reconciliation(table, validated.num_rows),
        "has_countries": quality.has_countries(table),
    }
    return AggregatedHour(partition_key, table, len(data), key, validated.num_rows,
                          time.perf_counter() - started, outcomes)
