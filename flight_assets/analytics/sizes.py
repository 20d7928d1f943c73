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


def reference_sizes(bbox: BBox | None, states_per_snapshot: float | None = None) -> Sizes:
    """Reference sizes; a box's states are its area's share of a global snapshot unless given (traffic is far
    denser over busy airspace than the average: the 2.25 sq° DC-metro box holds 58–74 states, not 0.4)."""
    if states_per_snapshot is None:
        share = 1.0 if bbox is None else min(1.0, (bbox[2] - bbox[0]) * (bbox[3] - bbox[1]) / GLOBE_SQ_DEG)
        states_per_snapshot = REFERENCE_GLOBAL_STATES * share
    return Sizes(REFERENCE_RAW_BYTES_PER_STATE, REFERENCE_PARQUET_BYTES_PER_ROW, states_per_snapshot, "reference")
