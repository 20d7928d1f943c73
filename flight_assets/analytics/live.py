"""The live views of `flight-assets query`: `live_states` (built hours from validated/, every other hour validated
from raw/ on the fly by the same engine) and `latest_states` (the newest snapshot's rows). No Dagster import.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from flight_assets.analytics.query import (
    LATEST_VIEW,
    LIVE_VIEW,
    PARTITION_COLUMNS,
    VALIDATED_VIEW,
    _ident,
    _source_schema,
)
from flight_assets.config import Settings
from flight_assets.lake.layout import (
    RAW_STATES_PREFIX,
    VALIDATED_STATES_PREFIX,
    hour_prefix,
    parse_raw_key,
    partition_start,
)


def _hour_folder(key: str, prefix: str) -> str:
    """`year=…/month=…/day=…/hour=…` of an object key under `prefix`."""
    return key[len(prefix) + 1 :].rsplit("/", 1)[0]


def _with_partitions(table: pa.Table, hour_start: datetime) -> pa.Table:
    """Validated rows as the views show them: plain types and the four integer partition columns."""
    from flight_assets.states.validation import VALIDATED_SCHEMA

    target = _source_schema(VALIDATED_SCHEMA)
    values = dict(zip(PARTITION_COLUMNS, (hour_start.year, hour_start.month, hour_start.day, hour_start.hour),
                      strict=True))
    arrays = [
        pa.chunked_array([pa.repeat(pa.scalar(values[f.name], f.type), table.num_rows)], f.type)
        if f.name in values else table.column(f.name).cast(f.type)
        for f in target
    ]
    return pa.Table.from_arrays(arrays, schema=target)


def _validate_raw(lake: Any, keys: list[str], hour_folder: str) -> pa.Table:
    """The validated rows of raw objects of one hour, by the engine that builds validated_states."""
    from flight_assets.lake.hourly_tables import RawObjects
    from flight_assets.states.validation import build_validated_hour

    hour_start = partition_start(_partition_key(hour_folder))
    result = build_validated_hour(RawObjects(lake, tuple(keys)), hour_start=int(hour_start.timestamp()))
    return _with_partitions(result.validated, hour_start)


def _partition_key(hour_folder: str) -> str:
    parts = dict(part.split("=", 1) for part in hour_folder.split("/"))
    return f"{parts['year']}-{parts['month']}-{parts['day']}-{parts['hour']}:00"


# `latest_states` looks in the newest hours first; only a lake whose newest snapshot is older lists all of raw/.
LATEST_PROBE_HOURS = 3


def _raw_keys(lake: Any, prefix: str) -> dict[str, list[tuple[int, str]]]:
    """Hour folder → [(snapshot time, key)] of the raw snapshots under `prefix`."""
    raw: dict[str, list[tuple[int, str]]] = {}
    for obj in lake.list(prefix):
        parsed = parse_raw_key(obj.key)
        if parsed:
            raw.setdefault(_hour_folder(obj.key, RAW_STATES_PREFIX), []).append((parsed[0], obj.key))
    return raw


def _newest_raw_hour(lake: Any) -> dict[str, list[tuple[int, str]]]:
    """The raw snapshots of the newest hour that has any (listing the last few UTC hours before all of raw/)."""
    now = datetime.now(UTC)
    for back in range(LATEST_PROBE_HOURS):
        found = _raw_keys(lake, hour_prefix(RAW_STATES_PREFIX, now - timedelta(hours=back)) + "/")
        if found:
            return found
    everything = _raw_keys(lake, RAW_STATES_PREFIX + "/")
    return {max(everything): everything[max(everything)]} if everything else {}


def create_live_views(conn: duckdb.DuckDBPyConnection, settings: Settings, views: Sequence[str]) -> bool:
    """`live_states` and/or `latest_states`; False when the lake has neither raw nor validated data."""
    from flight_assets.lake.store import open_lake
    from flight_assets.states.validation import VALIDATED_SCHEMA

    lake = open_lake(settings.lake, settings.aws_endpoint_url)
    empty = _source_schema(VALIDATED_SCHEMA).empty_table()
    columns = ", ".join(_ident(f.name) for f in empty.schema)
    found = False
    if LIVE_VIEW in views:
        raw = _raw_keys(lake, RAW_STATES_PREFIX + "/")
        built = {_hour_folder(obj.key, VALIDATED_STATES_PREFIX) for obj in lake.list(VALIDATED_STATES_PREFIX + "/")
                 if obj.key.endswith(".parquet")}
        # Hours not built yet: normally the hour in progress and the one that just closed.
        tables = [_validate_raw(lake, [key for _, key in items], folder)
                  for folder, items in sorted(raw.items()) if folder not in built]
        conn.register("_live_unbuilt", pa.concat_tables([empty, *tables]))
        conn.sql(f"CREATE OR REPLACE VIEW {LIVE_VIEW} AS SELECT {columns} FROM {_ident(VALIDATED_VIEW)} "
                 f"UNION ALL SELECT {columns} FROM _live_unbuilt")
        found = bool(raw or built)
    if LATEST_VIEW in views:
        latest = empty
        newest_hour = _newest_raw_hour(lake)
        for folder, items in newest_hour.items():
            newest = max(t for t, _ in items)
            # Every body landed with the newest `time` (OpenSky can answer one time with two bodies).
            latest = _validate_raw(lake, [key for t, key in items if t == newest], folder)
        conn.register("_latest", latest)
        conn.sql(f"CREATE OR REPLACE VIEW {LATEST_VIEW} AS SELECT {columns} FROM _latest")
        found = found or bool(newest_hour)
    return found
