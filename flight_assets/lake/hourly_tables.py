"""Reading and replacing one hour of a Parquet table in the lake (`<prefix>/year=…/hour=HH/part-0.parquet`).

A partition is exactly one object, written in one atomic PUT/rename, so re-materializing an hour replaces it whole
and two overlapping backfills of the same hour can only leave one complete file (our writes are deterministic, so
they are even the same bytes). No Dagster import.
"""

from __future__ import annotations

import io
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

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


def raw_hour_keys(lake: Lake, partition_key: str) -> list[str]:
    """The keys of the hour's raw snapshot objects, in key order."""
    return [obj.key for obj in lake.list(raw_hour_prefix(partition_key) + "/") if parse_raw_key(obj.key)]


def read_raw_hour(lake: Lake, partition_key: str, threads: int = 8) -> list[tuple[str, bytes]]:
    """Every raw snapshot object of the hour as (key, gzip bytes), in key order."""
    return read_raw_objects(lake, raw_hour_keys(lake, partition_key), threads)


_T = TypeVar("_T")
_R = TypeVar("_R")


def windowed_map(pool: Executor, fn: Callable[[_T], _R], items: Iterable[_T], window: int) -> Iterator[_R]:
    """pool.map that takes at most `window` items ahead of the consumer (Executor.map takes them all at once);
    closing it early cancels what has not started."""
    ahead: deque[Future[_R]] = deque()
    try:
        for item in items:
            ahead.append(pool.submit(fn, item))
            if len(ahead) >= window:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()
    finally:
        for future in ahead:
            future.cancel()


@dataclass(frozen=True)
class RawObjects:
    """Raw objects named up front and fetched while they are consumed, so a build holds a bounded window of them
    rather than the whole hour (a global hour is ~50 MB of gzip). `fetch(keys)` yields (key, gzip bytes) in the
    order asked, `threads` GETs at a time (S3 latency dominates) and at most `window` objects ahead of the
    consumer; iterating fetches every key in `keys` order. Each pass reads the lake again."""

    lake: Lake
    keys: tuple[str, ...]
    threads: int = 8
    window: int = 8

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        return self.fetch(self.keys)

    def fetch(self, keys: Sequence[str]) -> Iterator[tuple[str, bytes]]:
        if len(keys) <= 1:
            yield from ((key, self.lake.get(key)) for key in keys)
            return
        with ThreadPoolExecutor(max_workers=min(self.threads, len(keys))) as pool:
            bodies = windowed_map(pool, self.lake.get, keys, self.window)
            try:
                yield from zip(keys, bodies, strict=True)
            finally:  # a consumer that stops early (an error) leaves nothing running
                bodies.close()


def raw_hour_objects(lake: Lake, partition_key: str) -> RawObjects:
    """The hour's raw snapshot objects, listed now, fetched as a build consumes them."""
    return RawObjects(lake, tuple(raw_hour_keys(lake, partition_key)))
