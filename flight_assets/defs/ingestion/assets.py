"""`raw_snapshots`: the bronze layer. Landed outside Dagster runs (Lambda, the poll job, `flight-assets land`) and
reported as materializations of its hourly partitions, so hours that never received data show as missing."""

from __future__ import annotations

import dagster as dg

from flight_assets.defs.partitions import hourly_partitions

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
)
