"""Ingestion automation: the 30-s poll sensor (local) and the landing sensor (snapshots Lambda wrote)."""


import json
import time

import dagster as dg

from flight_assets.config import ConfigError, load_settings, poll_sensor_enabled
from flight_assets.defs.ingestion.assets import raw_snapshots
from flight_assets.defs.ingestion.jobs import ingest_snapshot_job
from flight_assets.lake.raw_index import scan_new_raw_keys
from flight_assets.lake.store import LakeError, open_lake
from flight_assets.opensky.credits import MIN_INTERVAL_S
from flight_assets.opensky.governor import CreditGovernor

POLL_SLOT_S = MIN_INTERVAL_S  # one run key per 30-s slot, the grid the governor's cadence uses at its fastest


def poll_sensor_default_status() -> dg.DefaultSensorStatus:
    """FLIGHT_POLL_SENSOR (config.poll_sensor_enabled): on for a local lake, off for S3 unless set; a bad value
    leaves the sensor off, and its ticks say why."""
    try:
        enabled = poll_sensor_enabled()
    except ConfigError:
        enabled = False
    return dg.DefaultSensorStatus.RUNNING if enabled else dg.DefaultSensorStatus.STOPPED


def poll_run_key(now: float) -> str:
    """One run key per 30-s slot: a slow tick can never start two polls for the same slot."""
    return f"poll-{int(now // POLL_SLOT_S) * POLL_SLOT_S}"


@dg.sensor(
    job=ingest_snapshot_job,
    minimum_interval_seconds=POLL_SLOT_S,
    default_status=poll_sensor_default_status(),
    description="Starts ingest_snapshot_job every 30 s, or at the slower cadence the OpenSky credit budget sustains.",
)
def opensky_poll_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason | dg.RunRequest:
    now = time.time()
    try:
        settings = load_settings()
        governor = CreditGovernor(open_lake(settings.lake, settings.aws_endpoint_url), settings.tier, settings.bbox)
        decision = governor.peek(now)
    except (ConfigError, LakeError) as exc:
        return dg.SkipReason(f"cannot poll: {exc}")
    if not decision.allowed:
        return dg.SkipReason(decision.message)
    return dg.RunRequest(run_key=poll_run_key(now), tags={"flight_assets/poll_slot": poll_run_key(now)})


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Lists new objects under raw/ (cursor: last key + recent hours) and reports raw_snapshots partitions for "
        "snapshots written outside Dagster runs (the ingest Lambda, `flight-assets land`)."
    ),
)
def raw_landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    try:
        settings = load_settings()
        lake = open_lake(settings.lake, settings.aws_endpoint_url)
        scan = scan_new_raw_keys(lake, json.loads(context.cursor) if context.cursor else None)
    except (ConfigError, LakeError) as exc:
        return dg.SkipReason(f"cannot scan the raw layer: {exc}")
    events = []
    for landing in scan.partitions.values():
        outside = []
        states = 0
        for key in landing.new_keys:
            metadata = lake.head(key) or {}
            if metadata.get("writer") == "dagster":
                continue  # the poll job already reported it
            outside.append(key)
            states += int(metadata.get("states", 0) or 0)
        if outside:
            events.append(
                dg.AssetMaterialization(
                    asset_key=raw_snapshots.key,
                    partition=landing.partition_key,
                    description=f"{len(outside)} new snapshot(s) landed outside Dagster",
                    metadata={
                        "new_snapshots": len(outside),
                        "states": states,
                        "snapshots_in_hour": landing.snapshots_in_hour,
                        "bytes_in_hour": landing.bytes_in_hour,
                        "latest_key": outside[-1],
                    },
                )
            )
    cursor = json.dumps(scan.cursor, separators=(",", ":"))
    if not events:
        return dg.SensorResult(skip_reason=dg.SkipReason("no new snapshots outside Dagster runs"), cursor=cursor)
    return dg.SensorResult(asset_events=events, cursor=cursor)
