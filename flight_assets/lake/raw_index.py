"""What is in the raw layer: per-hour summaries and the incremental scan that finds newly landed snapshots.

Pure Python over the lake interface (no Dagster), used by the poll job, the landing sensor and the CLI.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from flight_assets.lake.layout import (
    RAW_STATES_PREFIX,
    hour_prefix,
    parse_raw_key,
    partition_key_for_time,
    partition_start,
    raw_hour_prefix,
)
from flight_assets.lake.store import Lake

RECENT_HOURS = 2  # hours re-listed on every scan, to catch snapshots that land out of key order


def hour_summary(lake: Lake, partition_key: str) -> tuple[int, int]:
    """(snapshots, stored bytes) under the raw prefix of one hour."""
    snapshots = stored = 0
    for obj in lake.list(raw_hour_prefix(partition_key) + "/"):
        if parse_raw_key(obj.key):
            snapshots += 1
            stored += obj.size
    return snapshots, stored


@dataclass
class PartitionLanding:
    partition_key: str
    new_keys: list[str] = field(default_factory=list)
    snapshots_in_hour: int = 0
    bytes_in_hour: int = 0


@dataclass
class ScanResult:
    partitions: dict[str, PartitionLanding]
    cursor: dict[str, object]
    truncated: bool  # more new keys are waiting than one scan takes


def scan_new_raw_keys(lake: Lake, cursor: dict[str, object] | None, max_keys: int = 2_000) -> ScanResult:
    """New raw keys since `cursor`, grouped by hourly partition.

    The cursor holds the greatest key seen (keys sort by snapshot time, so a `start_after` listing finds new
    ones cheaply) and the keys of the most recent hours, which are re-listed each time: two bodies with the same
    `time` can land in either order, and a late Lambda write can sort before the greatest key.
    """
    cursor = cursor or {}
    last_key = cursor.get("last_key")
    recent: dict[str, set[str]] = {h: set(keys) for h, keys in dict(cursor.get("recent", {})).items()}  # type: ignore[arg-type]
    new: list[str] = []
    truncated = False
    for obj in lake.list(RAW_STATES_PREFIX + "/", start_after=str(last_key) if last_key else None):
        if parse_raw_key(obj.key):
            if len(new) >= max_keys:
                truncated = True
                break
            new.append(obj.key)
    if new:
        last_key = new[-1]
    # Re-list the recent hours (by the newest key seen) for out-of-order arrivals.
    if last_key and not truncated:
        parsed = parse_raw_key(str(last_key))
        assert parsed is not None
        newest = partition_start(partition_key_for_time(parsed[0]))
        for back in range(RECENT_HOURS):
            prefix = hour_prefix(RAW_STATES_PREFIX, newest - timedelta(hours=back))
            seen = recent.get(prefix, set())
            listed = set(new)
            for obj in lake.list(prefix + "/"):
                if parse_raw_key(obj.key) and obj.key not in seen and obj.key not in listed:
                    new.append(obj.key)
                    listed.add(obj.key)
    by_partition: dict[str, PartitionLanding] = {}
    for key in new:
        parsed_key = parse_raw_key(key)
        assert parsed_key is not None
        pk = partition_key_for_time(parsed_key[0])
        by_partition.setdefault(pk, PartitionLanding(pk)).new_keys.append(key)
    for landing in by_partition.values():
        landing.snapshots_in_hour, landing.bytes_in_hour = hour_summary(lake, landing.partition_key)
    # Remember the keys of the recent hours only, so the cursor stays small.
    grouped: dict[str, set[str]] = defaultdict(set)
    for prefix, keys in recent.items():
        grouped[prefix] |= keys
    for key in new:
        grouped[key.rsplit("/", 1)[0]].add(key)
    keep = sorted(grouped)[-RECENT_HOURS:]
    new_cursor = {"last_key": last_key, "recent": {p: sorted(grouped[p]) for p in keep}}
    return ScanResult(by_partition, new_cursor, truncated)
