"""Reading and replacing one hour of a Parquet table in the lake (`<prefix>/year=…/hour=HH/part-0.parquet`).

A partition is exactly one object, written in one atomic PUT/rename, so re-materializing an hour replaces it whole
and two overlapping backfills of the same hour can only leave one complete file (our writes are deterministic, so
they are even the same bytes). No Dagster import.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.parquet as pq

from flight_assets.lake.layout import hour_prefix, parse_raw_key, partition_start, raw_hour_prefix
from flight_assets.lake.store import Lake, LakeError

PART_NAME = "part-0.parquet"


def partition_key_path(prefix: str, partition_key: str) -> str:
    """The one object holding `partition_key`'s rows under `prefix`."""
    return f"{hour_prefix(prefix, partition_start(partition_key))}/{PART_NAME}"


def replace_hour(lake: Lake, prefix: str, partition_key: str, parquet: bytes) -> str:
    """Write the hour's Parquet bytes, replacing whatever the hour held; returns the key."""
    key = partition_key_path(prefix, partition_key)
    # Anything else under the hour (from an older layout or a hand-copied file) would be read with the new file.
    hour_dir = key.rsplit("/", 1)[0] + "/"
    for stale in [obj.key for obj in lake.list(hour_dir) if obj.key != key]:
        lake.delete_prefix(stale)
    lake.put(key, parquet)
    return key


def read_hour(lake: Lake, prefix: str, partition_key: str) -> pa.Table | None:
    """The hour's table, or None when the hour was never written."""
    key = partition_key_path(prefix, partition_key)
    try:
        data = lake.get(key)
    except LakeError:
        if lake.head(key) is None:
            return None
        raise
    return pq.read_table(io.BytesIO(data))


def read_raw_objects(lake: Lake, keys: list[str], threads: int = 8) -> list[tuple[str, bytes]]:
    """(key, gzip bytes) of each raw object, in the order given; fetched in parallel (S3 latency dominates)."""
    if len(keys) <= 1:
        return [(key, lake.get(key)) for key in keys]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(zip(keys, pool.map(lake.get, keys), strict=True))


def read_raw_hour(lake: Lake, partition_key: str, threads: int = 8) -> list[tuple[str, bytes]]:
    """Every raw snapshot object of the hour as (key, gzip bytes), in key order."""
    keys = [obj.key for obj in lake.list(raw_hour_prefix(partition_key) + "/") if parse_raw_key(obj.key)]
    return read_raw_objects(lake, keys, threads)
