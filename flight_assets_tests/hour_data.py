"""Real data for the hourly tests: the recorded global snapshot re-timed into chosen hours and landed through
the ingestion code path (land_snapshot), so tests exercise exactly what production lands."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from flight_assets.ingestion.poll import land_snapshot
from flight_assets.lake.store import Lake
from flight_assets.opensky.snapshot import parse_snapshot

GLOBAL = "states_global_20250830T181803Z.json"  # 10,578 states, 2025-08-30 18:18 UTC: the workhorse recording
REPO_ROOT = Path(__file__).resolve().parents[1]


def opensky_data_dir() -> Path:
    """The shared recorded OpenSky responses: FLIGHT_OPENSKY_DATA, else ../shared/data/opensky beside the repo."""
    configured = os.environ.get("FLIGHT_OPENSKY_DATA")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "data" / "opensky"
GLOBAL_TIME = 1_756_577_883


def retimed_body(doc: dict[str, Any], snapshot_time: int) -> bytes:
    """The recorded snapshot moved to `snapshot_time`: times shifted, aircraft advanced by dead reckoning."""
    dt = snapshot_time - doc["time"]
    rows = []
    for row in doc["states"]:
        row = list(row)
        for index in (3, 4):  # time_position, last_contact
            if isinstance(row[index], int):
                row[index] += dt
        lon, lat, velocity, track = row[5], row[6], row[9], row[10]
        if None not in (lon, lat, velocity, track) and not row[8]:
            distance_deg = velocity * dt / 111_320
            lat = max(-89.9, min(89.9, lat + distance_deg * math.cos(math.radians(track))))
            lon = ((lon + distance_deg * math.sin(math.radians(track)) + 180) % 360) - 180
            row[5], row[6] = round(lon, 4), round(lat, 4)
        rows.append(row)
    return json.dumps({"time": snapshot_time, "states": rows}, separators=(",", ":")).encode()


def land_bodies(lake: Lake, bodies: list[bytes]) -> list[str]:
    keys = []
    for body in bodies:
        keys.append(land_snapshot(lake, body, parse_snapshot(body), {"writer": "test"}).key)
    return keys


def load_global(data_dir: Path) -> dict[str, Any]:
    return json.loads((data_dir / GLOBAL).read_bytes())
