"""`raw_snapshots`: the bronze layer. Landed outside Dagster runs (Lambda, the poll job, `flight-assets land`) and
reported as materializations of its hourly partitions, so hours that never received data show as missing."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from flight_assets.config import ConfigError, load_settings
from flight_assets.defs.partitions import hourly_partitions
from flight_assets.opensky.credits import MIN_INTERVAL_S, plan_cadence

# Lambda's snapshots are reported by raw_landing_sensor once a minute, so no window is shorter than these.
MIN_WARN_WINDOW = timedelta(minutes=2)
MIN_FAIL_WINDOW = timedelta(minutes=5)


def planned_cadence_s() -> int:
    """The cadence the credit governor plans for the configured tier and box (30 s if the settings are bad: the
    sensors then say what is wrong on every tick)."""
    try:
        settings = load_settings()
    except ConfigError:
        return MIN_INTERVAL_S
    return plan_cadence(settings.tier, settings.bbox).interval_s


def raw_freshness_policy(cadence_s: int) -> dg.FreshnessPolicy:
    """Warn after 3 planned polls without a snapshot, fail after 6: a stopped ingester shows red within minutes."""
    return dg.FreshnessPolicy.time_window(
        warn_window=max(MIN_WARN_WINDOW, timedelta(seconds=3 * cadence_s)),
        fail_window=max(MIN_FAIL_WINDOW, timedelta(seconds=6 * cadence_s)),
    )


raw_snapshots = dg.AssetSpec(
    "raw_snapshots",
    partitions_def=hourly_partitions,
    group_name="ingestion",
    description=(
        "OpenSky /states/all bodies, byte-exact and gzipped, under raw/states/year=/month=/day=/hour=/"
        "<time>_<sha8>.json.gz, partitioned by the UTC hour of each body's own `time`. Written every 30 s by the "
        "ingest Lambda or the local poll job, reported here by the poll job and raw_landing_sensor."
    ),
    kinds={"json", "s3"},
    owners=["team:flight-data"],
    tags={"layer": "bronze"},
    freshness_policy=raw_freshness_policy(planned_cadence_s()),
)
