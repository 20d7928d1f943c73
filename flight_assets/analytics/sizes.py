"""How big the data is: bytes per raw state and per validated Parquet row, measured in the lake's own objects when
it holds data, else the reference figures the benchmarks measured on the real 10,578-state global snapshot.
No Dagster import."""

from __future__ import annotations

import io
from dataclasses import dataclass

from flight_assets.lake.layout import RAW_STATES_PREFIX, VALIDATED_STATES_PREFIX, parse_raw_key
from flight_assets.lake.store import Lake
from flight_assets.opensky.credits import BBox

# Measured on states_global_20250830T181803Z.json (10,578 states): gzip level 5 body 441,468 B → 41.7 B/state;
# one hour of 120 such snapshots as validated Parquet (zstd), bench/hourly.py: 13,436,765 B / 1,269,360 rows
# = 10.6 B/row.
REFERENCE_RAW_BYTES_PER_STATE = 41.7
REFERENCE_PARQUET_BYTES_PER_ROW = 10.6
REFERENCE_GLOBAL_STATES = 10_578  # states in one global snapshot (a box holds its share of these)
# The same hour's validated Parquet, column by column (compressed bytes in its metadata): each column's share of the
# file, what Athena scans when a query reads only that column. Positions dominate; strings dictionary-encode to
# almost nothing. Columns below 0.1 % are left out (flags, spi, category, ...).
REFERENCE_VALIDATED_COLUMN_SHARE = {
    "longitude": 0.369, "latitude": 0.352, "time_position": 0.068, "last_contact": 0.067, "velocity": 0.041,
    "callsign": 0.029, "baro_altitude": 0.025, "icao24": 0.018, "true_track": 0.017, "geo_altitude": 0.007,
    "squawk": 0.004, "vertical_rate": 0.002, "on_ground": 0.001,
}
MIN_COLUMN_SHARE = 0.001  # a column left out above
# That hour's country_aggregates file: 105 countries, 11,223 B.
REFERENCE_AGGREGATES_BYTES_PER_HOUR = 11_223
GLOBE_SQ_DEG = 180 * 360



@dataclass(frozen=True)
class Sizes:
    raw_bytes_per_state: float
    parquet_bytes_per_row: float
    states_per_snapshot: float
    source: str  # "lake" or "reference"



def measure_sizes(lake: Lake, sample: int = 50) -> Sizes | None:
    """Bytes per state of the lake's newest raw objects and validated Parquet files, or None when it is empty."""
    import pyarrow.parquet as pq

    raw = [o for o in lake.list(RAW_STATES_PREFIX + "/") if parse_raw_key(o.key)][-sample:]
    stored = states = counted = 0
    for obj in raw:
        meta = lake.head(obj.key) or {}
        if meta.get("states"):
            stored += obj.size
            states += int(meta["states"])
            counted += 1
    parquet = [o for o in lake.list(VALIDATED_STATES_PREFIX + "/") if o.key.endswith(".parquet")][-24:]
    parquet_bytes = rows = 0
    for obj in parquet:
        rows += pq.ParquetFile(io.BytesIO(lake.get(obj.key))).metadata.num_rows
        parquet_bytes += obj.size
    if not states:
        return None
    return Sizes(
        raw_bytes_per_state=stored / states,
        parquet_bytes_per_row=parquet_bytes / rows if rows else REFERENCE_PARQUET_BYTES_PER_ROW,
        states_per_snapshot=states / counted,
        source="lake" if rows else "lake (raw) + reference (Parquet)",
    )


def column_share(columns: list[str]) -> float:
    """The share of a validated_states file that a query reading only `columns` scans."""
    return min(1.0, sum(REFERENCE_VALIDATED_COLUMN_SHARE.get(c, MIN_COLUMN_SHARE) for c in columns))


def reference_sizes(bbox: BBox | None, states_per_snapshot: float | None = None) -> Sizes:
    """Reference sizes; a box's states are its area's share of a global snapshot unless given (traffic is far
    denser over busy airspace than the average: the 2.25 sq° DC-metro box holds 58–74 states, not 0.4)."""
    if states_per_snapshot is None:
        share = 1.0 if bbox is None else min(1.0, (bbox[2] - bbox[0]) * (bbox[3] - bbox[1]) / GLOBE_SQ_DEG)
        states_per_snapshot = REFERENCE_GLOBAL_STATES * share
    return Sizes(REFERENCE_RAW_BYTES_PER_STATE, REFERENCE_PARQUET_BYTES_PER_ROW, states_per_snapshot, "reference")
