"""Rebuild an hour that was already built when a late snapshot for it lands.

A sensor rather than an automation condition: the rule is narrow (a closed hour, already built, received a
snapshot after its build) and an operator sees each decision and its run key on the sensor's page.
"""

import time

import dagster as dg

from flight_assets.defs.states.schedules import hourly_states_job
from flight_assets.layout import partition_key_for_time

RAW_SNAPSHOTS = dg.AssetKey("raw_snapshots")
VALIDATED_STATES = dg.AssetKey("validated_states")


@dg.sensor(
    job=hourly_states_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Re-runs hourly_states_job for a closed, already-built hour when a snapshot lands in it late.",
)
def late_snapshot_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    instance = context.instance
    after = int(context.cursor) if context.cursor else None
    if after is None:
        # First evaluation: start from now; history was built by the schedule or backfills.
        latest = instance.fetch_materializations(RAW_SNAPSHOTS, limit=1).records
        cursor = str(latest[0].storage_id if latest else 0)
        return dg.SensorResult(skip_reason=dg.SkipReason("started watching raw_snapshots"), cursor=cursor)
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=RAW_SNAPSHOTS, after_storage_id=after), limit=1000, ascending=True
    ).records
    if not records:
        return dg.SensorResult(skip_reason=dg.SkipReason("no new snapshots"), cursor=str(after))
    open_hour = partition_key_for_time(int(time.time()))
    late: dict[str, tuple[int, float]] = {}
    for record in records:
        partition = record.partition_key
        if not partition or partition >= open_hour:
            continue  # the open hour is built by the schedule once it closes
        late[partition] = (record.storage_id, record.timestamp)
    requests = []
    for partition, (storage_id, landed_at) in sorted(late.items()):
        built = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=VALIDATED_STATES, asset_partitions=[partition]), limit=1
        ).records
        if built and built[0].timestamp < landed_at:
            requests.append(dg.RunRequest(partition_key=partition, run_key=f"late-{partition}-{storage_id}",
                                          tags={"flight_assets/reason": "late snapshot"}))
    cursor = str(records[-1].storage_id)
    if not requests:
        return dg.SensorResult(skip_reason=dg.SkipReason("no late snapshots for built hours"), cursor=cursor)
    return dg.SensorResult(run_requests=requests, cursor=cursor)
