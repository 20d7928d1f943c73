"""Ingestion reporting: the landing sensor (snapshots Lambda or the CLI wrote) and the gap repair sensor (missed
slots fetched again from OpenSky's last hour). The 30-s poll itself lives in the poller's code location
(defs/poll/)."""


import json
import os

import dagster as dg

from flight_assets.config import ConfigError, load_settings, switch
from flight_assets.defs.ingestion.assets import raw_snapshots
from flight_assets.defs.poll.jobs import POLL_JOB_WRITER
from flight_assets.ingestion.repair import RepairRefused, RepairReport, repair_gaps
from flight_assets.lake.layout import raw_hour_prefix
from flight_assets.lake.raw_index import hour_summary, scan_new_raw_keys
from flight_assets.lake.store import Lake, LakeError, open_lake
from flight_assets.opensky.secret import settings_with_secret

REPAIR_INTERVAL_S = 300  # every 5 minutes: a gap is repaired well within OpenSky's one-hour history
# One tick stays well inside Dagster's 60-s sensor timeout; the slots left are repaired by the next tick.
REPAIR_MAX_CALLS_PER_TICK = 40
REPAIR_DEADLINE_S = 30.0
REPAIR_SENSOR_WRITER = "dagster-repair"  # reported by gap_repair_sensor itself
# Objects whose materialization a Dagster run or sensor already reported: raw_landing_sensor leaves them alone.
REPORTED_BY_DAGSTER = frozenset({POLL_JOB_WRITER, REPAIR_SENSOR_WRITER})


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
            if metadata.get("writer") in REPORTED_BY_DAGSTER:
                continue  # the poll job or gap_repair_sensor already reported it
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


def repair_sensor_default_status() -> dg.DefaultSensorStatus:
    """On when OpenSky credentials are configured (anonymous calls cannot ask for a past time);
    `FLIGHT_REPAIR_SENSOR=on|off` decides explicitly."""
    try:
        choice = switch(None, "FLIGHT_REPAIR_SENSOR")
        if choice is None:
            choice = load_settings().has_credentials
    except ConfigError:
        choice = False  # a bad setting: the sensor stays off, and the poll sensor's ticks say what is wrong
    return dg.DefaultSensorStatus.RUNNING if choice else dg.DefaultSensorStatus.STOPPED


def repair_materializations(lake: Lake, report: RepairReport) -> list[dg.AssetMaterialization]:
    """One raw_snapshots materialization per hour that received repaired snapshots: the late-data automation
    rebuilds those hours (up to 3 h back), and their completeness check then counts the repaired slots."""
    events = []
    for partition, landed in sorted(report.partitions.items()):
        keys = [key for key in report.landed_keys if key.startswith(raw_hour_prefix(partition) + "/")]
        snapshots, stored = hour_summary(lake, partition)
        events.append(dg.AssetMaterialization(
            asset_key=raw_snapshots.key,
            partition=partition,
            description=f"{landed} missed snapshot(s) repaired from OpenSky's history (time=)",
            metadata={"repaired_snapshots": landed, "snapshots_in_hour": snapshots, "bytes_in_hour": stored,
                      "latest_key": keys[-1] if keys else "", "writer": REPAIR_SENSOR_WRITER},
        ))
    return events


@dg.sensor(
    minimum_interval_seconds=REPAIR_INTERVAL_S,
    default_status=repair_sensor_default_status(),
    description=(
        "Every 5 minutes: finds the planned 30-s slots of the last hour with no raw snapshot, fetches them from "
        "OpenSky with time= (newest first, spare credits only) and reports the repaired raw_snapshots hours. "
        "Each tick says what it found, fetched and landed, or why it skipped."
    ),
)
def gap_repair_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    try:
        settings = settings_with_secret(os.environ)  # on ECS the credentials are in Secrets Manager
        lake = open_lake(settings.lake, settings.aws_endpoint_url)
        report = repair_gaps(settings, lake=lake, writer=REPAIR_SENSOR_WRITER,
                             max_calls=REPAIR_MAX_CALLS_PER_TICK, deadline_s=REPAIR_DEADLINE_S)
    except (ConfigError, LakeError, RepairRefused) as exc:
        return dg.SkipReason(f"cannot repair: {exc}")
    summary = report.describe().replace("\n", "; ")
    context.log.info(summary)
    events = repair_materializations(lake, report)
    if not events:
        return dg.SensorResult(skip_reason=dg.SkipReason(summary))
    return dg.SensorResult(asset_events=events)
