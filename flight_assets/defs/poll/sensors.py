"""`opensky_poll_sensor`: asks the credit governor every 30 s and starts ingest_snapshot_job when a poll is due."""

import time

import dagster as dg

from flight_assets.config import ConfigError, load_settings, poll_sensor_enabled
from flight_assets.defs.poll.jobs import ingest_snapshot_job
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
    run_key = poll_run_key(now)
    return dg.RunRequest(run_key=run_key, tags={"flight_assets/poll_slot": run_key})
