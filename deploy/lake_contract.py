"""Write deploy/terraform/lake_contract.json: what Terraform needs to know about the lake, from the Python code.

    python deploy/lake_contract.py [--check]

The Glue tables' columns (Hive types) come from the pyarrow schemas the pipeline writes
(flight_assets/states/validation.py VALIDATED_SCHEMA / QUARANTINE_SCHEMA, flight_assets/states/aggregation.py
COUNTRY_AGGREGATES_SCHEMA); the table prefixes, the layer prefixes (IAM, lifecycle) and the hive partition layout
come from flight_assets/lake/layout.py. The modules read the file with jsondecode(file(...)); a fast test
(flight_assets_tests/test_lake_contract.py) fails while the committed file differs from what this script writes.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from flight_assets.lake import layout  # noqa: E402
from flight_assets.states.aggregation import COUNTRY_AGGREGATES_SCHEMA  # noqa: E402
from flight_assets.states.validation import QUARANTINE_SCHEMA, VALIDATED_SCHEMA  # noqa: E402

OUTPUT = REPO / "deploy" / "terraform" / "lake_contract.json"
PARTITION_KEYS = ("year", "month", "day", "hour")

# Column documentation for the Glue catalog (Athena shows it); the names and types come from the schemas, and the
# test fails on a column without a comment or a comment without a column.
COMMENTS: dict[str, dict[str, str]] = {
    "validated_states": {
        "snapshot_time": "the snapshot's own time (UTC)",
        "icao24": "ICAO 24-bit transponder address, hex",
        "callsign": "callsign, trimmed; null when blank",
        "origin_country": "country inferred from the ICAO address",
        "time_position": "time of the last position update",
        "last_contact": "time of the last message from the transponder",
        "longitude": "WGS-84 degrees",
        "latitude": "WGS-84 degrees",
        "baro_altitude": "barometric altitude, m",
        "on_ground": "surface position report",
        "velocity": "ground speed, m/s",
        "true_track": "track, degrees clockwise from north",
        "vertical_rate": "m/s, positive climbing",
        "geo_altitude": "geometric altitude, m",
        "squawk": "transponder code",
        "spi": "special purpose indicator",
        "position_source": "0 ADS-B, 1 ASTERIX, 2 MLAT, 3 FLARM",
        "category": "aircraft category (extended responses only)",
        "flag_stale_position": "position much older than last contact",
        "flag_implausible_altitude": "altitude outside the plausible range",
        "flag_implausible_speed": "speed outside the plausible range",
        "flag_ground_high_altitude": "on ground but reporting a high altitude",
        "source_key": "raw object the row came from",
    },
    "quarantined_states": {
        "snapshot_time": "the snapshot's own time (UTC)",
        "source_key": "raw object the row came from",
        "row_index": "position of the row in the snapshot's states array",
        "reason": "reason code",
        "detail": "what exactly was wrong",
        "raw_row": "the row as JSON",
    },
    "country_aggregates": {
        "hour_start": "start of the UTC hour",
        "origin_country": "origin country",
        "states": "validated rows (one per aircraft per snapshot)",
        "aircraft": "distinct icao24",
        "snapshots": "snapshots in which the country appears",
        "airborne": "rows not on the ground",
        "on_ground": "rows on the ground",
        "positioned": "rows with latitude and longitude",
        "callsigns": "distinct non-empty callsigns",
        "avg_aircraft_per_snapshot": "states / snapshots",
        "avg_baro_altitude_m": "airborne rows",
        "median_baro_altitude_m": "airborne rows",
        "max_baro_altitude_m": "airborne rows",
        "avg_velocity_ms": "airborne rows",
        "max_velocity_ms": "airborne rows",
        "flagged": "rows carrying any soft quality flag",
    },
}

PARQUET_TABLES = {
    "validated_states": (layout.VALIDATED_STATES_PREFIX, VALIDATED_SCHEMA),
    "quarantined_states": (layout.QUARANTINE_STATES_PREFIX, QUARANTINE_SCHEMA),
    "country_aggregates": (layout.COUNTRY_AGGREGATES_PREFIX, COUNTRY_AGGREGATES_SCHEMA),
}

# Bronze is the API's JSON body as landed, not a pyarrow schema: `time` and the state vectors (mixed JSON values,
# read as strings).
RAW_COLUMNS = [
    {"name": "time", "type": "bigint", "comment": "the snapshot's time, Unix seconds"},
    {"name": "states", "type": "array<array<string>>", "comment": "state vectors, fields in API order"},
]


def hive_type(data_type: pa.DataType) -> str:
    """The Hive/Athena type of a pyarrow column as the pipeline's Parquet files store it."""
    if pa.types.is_dictionary(data_type):
        return hive_type(data_type.value_type)
    if pa.types.is_timestamp(data_type):
        return "timestamp"
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        return "string"
    if pa.types.is_boolean(data_type):
        return "boolean"
    if pa.types.is_float64(data_type):
        return "double"
    if pa.types.is_float32(data_type):
        return "float"
    integers = {pa.int8(): "tinyint", pa.int16(): "smallint", pa.int32(): "int", pa.int64(): "bigint"}
    if data_type in integers:
        return integers[data_type]
    raise ValueError(f"no Hive type for {data_type}: extend deploy/lake_contract.py")


def partition_template() -> str:
    """layout.hour_prefix's hive directories with Glue's projection placeholders: `year=${year}/.../hour=${hour}/`.

    Derived by rendering a known hour through layout.hour_prefix and replacing its values, so a change of the
    layout's key format changes the template (or fails here)."""
    when = datetime(2999, 11, 28, 23, tzinfo=UTC)
    rendered = layout.hour_prefix("p", when).removeprefix("p/")
    template = rendered
    for key, value in zip(PARTITION_KEYS, ("2999", "11", "28", "23"), strict=True):
        template = template.replace(f"{key}={value}", f"{key}=${{{key}}}")
    if template != "/".join(f"{k}=${{{k}}}" for k in PARTITION_KEYS):
        raise ValueError(f"layout.hour_prefix renders {rendered!r}: not the hive layout the Glue tables project")
    return template + "/"


def contract() -> dict[str, object]:
    tables: dict[str, object] = {}
    for name, (prefix, schema) in PARQUET_TABLES.items():
        comments = COMMENTS[name]
        missing = [field.name for field in schema if field.name not in comments]
        extra = sorted(set(comments) - set(schema.names))
        if missing or extra:
            raise ValueError(f"{name}: columns without a comment {missing}, comments without a column {extra}")
        tables[name] = {
            "prefix": prefix,
            "format": "parquet",
            "columns": [{"name": f.name, "type": hive_type(f.type), "comment": comments[f.name]} for f in schema],
        }
    tables["raw_states"] = {"prefix": layout.RAW_STATES_PREFIX, "format": "json", "columns": RAW_COLUMNS}
    layer = {name: str(table["prefix"]).split("/")[0] + "/" for name, table in tables.items()}  # type: ignore[index]
    return {
        "_generated_by": "python deploy/lake_contract.py (do not edit; flight_assets_tests/test_lake_contract.py)",
        "partition_keys": list(PARTITION_KEYS),
        "partition_template": partition_template(),
        "prefixes": {
            "raw": layer["raw_states"],
            "validated": layer["validated_states"],
            "quarantine": layer["quarantined_states"],
            "aggregates": layer["country_aggregates"],
            "state": layout.GOVERNOR_STATE_KEY.split("/")[0] + "/",
        },
        "tables": tables,
    }


def render() -> str:
    return json.dumps(contract(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed file is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(f"{OUTPUT} is stale: run python deploy/lake_contract.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
