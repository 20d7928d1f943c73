"""The lake's key layout: where each kind of object lives. Pure functions, no I/O."""

from __future__ import annotations

import re
from datetime import UTC, datetime

RAW_STATES_PREFIX = "raw/states"
VALIDATED_STATES_PREFIX = "validated/states"
QUARANTINE_STATES_PREFIX = "quarantine/states"
COUNTRY_AGGREGATES_PREFIX = "aggregates/country_hourly"
GOVERNOR_STATE_KEY = "_state/credit_governor.json"

RAW_SUFFIX = ".json.gz"
_RAW_NAME = re.compile(r"^(?P<time>\d+)_(?P<sha8>[0-9a-f]{8})\.json\.gz$")
PARTITION_KEY_FORMAT = "%Y-%m-%d-%H:00"  # Dagster's HourlyPartitionsDefinition key format


def hour_prefix(prefix: str, when: datetime) -> str:
    """`<prefix>/year=YYYY/month=MM/day=DD/hour=HH` for the UTC hour containing `when`."""
    when = when.astimezone(UTC)
    return f"{prefix}/year={when:%Y}/month={when:%m}/day={when:%d}/hour={when:%H}"


def snapshot_datetime(snapshot_time: int) -> datetime:
    return datetime.fromtimestamp(snapshot_time, tz=UTC)


def raw_key(snapshot_time: int, sha8: str) -> str:
    """Raw object key, dated by the body's own `time` field (never the wall clock)."""
    return f"{hour_prefix(RAW_STATES_PREFIX, snapshot_datetime(snapshot_time))}/{snapshot_time}_{sha8}{RAW_SUFFIX}"


def parse_raw_key(key: str) -> tuple[int, str] | None:
    """(time, sha8) of a raw object key, or None for anything that is not a raw snapshot."""
    match = _RAW_NAME.match(key.rsplit("/", 1)[-1])
    return (int(match["time"]), match["sha8"]) if match else None


def partition_key_for_time(snapshot_time: int) -> str:
    return snapshot_datetime(snapshot_time).strftime(PARTITION_KEY_FORMAT)


def partition_start(partition_key: str) -> datetime:
    return datetime.strptime(partition_key, PARTITION_KEY_FORMAT).replace(tzinfo=UTC)


def raw_hour_prefix(partition_key: str) -> str:
    return hour_prefix(RAW_STATES_PREFIX, partition_start(partition_key))
