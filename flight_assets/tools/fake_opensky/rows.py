"""State rows as requests ask for them: the box / icao24 / extended filters, categories, `time=`, the JSON body."""

from __future__ import annotations

import json
import zlib
from typing import Any
from urllib.parse import parse_qs

from flight_assets.opensky.credits import (
    HISTORY_RESOLUTION_S,
    HISTORY_S,
    BBox,
    parse_bbox,
)
from flight_assets.opensky.snapshot import FIELD_INDEX

# ADS-B emitter category (extended=1), 0..20; most real aircraft are 0-7.
_CATEGORY_WEIGHTS = (
    (0, 2600),
    (1, 600),
    (2, 900),
    (3, 2600),
    (4, 1500),
    (5, 250),
    (6, 900),
    (7, 150),
    (8, 150),
    (9, 100),
    (10, 10),
    (11, 5),
    (12, 60),
    (13, 5),
    (14, 40),
    (15, 2),
    (16, 20),
    (17, 80),
    (18, 10),
    (19, 3),
    (20, 15),
)
_CATEGORY_TOTAL = sum(w for _, w in _CATEGORY_WEIGHTS)


def category_for(icao24: str) -> int:
    """The aircraft category reported with `extended=1`: deterministic per icao24 (crc32), in 0..20."""
    point = zlib.crc32(str(icao24).strip().lower().encode()) % _CATEGORY_TOTAL
    for category, weight in _CATEGORY_WEIGHTS:
        if point < weight:
            return category
        point -= weight
    return 0


def _in_box(row: list[Any], bbox: BBox) -> bool:
    lamin, lomin, lamax, lomax = bbox
    lon, lat = row[5], row[6]
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return False
    return lamin <= lat <= lamax and lomin <= lon <= lomax


def _select_rows(
    rows: list[list[Any]], bbox: BBox | None, icaos: set[str] | None, extended: bool, shift: int = 0
) -> list[list[Any]]:
    out: list[list[Any]] = []
    for row in rows:
        if bbox is not None and not _in_box(row, bbox):
            continue
        if icaos is not None and str(row[FIELD_INDEX["icao24"]]).strip().lower() not in icaos:
            continue
        if shift or (extended and len(row) == 17):
            row = list(row)
            if shift:
                for index in (3, 4):
                    if isinstance(row[index], int) and not isinstance(row[index], bool):
                        row[index] += shift
            if extended and len(row) == 17:
                row.append(category_for(row[FIELD_INDEX["icao24"]]))
        out.append(row)
    return out


def _dump(snapshot_time: int, rows: list[list[Any]]) -> bytes:
    """Serialise like the real API: compact, `states` null when nothing matches."""
    return json.dumps({"time": snapshot_time, "states": rows or None}, separators=(",", ":")).encode()


def _history_time(query: str, now: float) -> int | None:
    """`time=T` of a request as OpenSky treats it for users: rounded down to 5 s, not in the future, 400 (a
    ValueError) when older than an hour; None when absent."""
    values = parse_qs(query, keep_blank_values=True).get("time")
    if not values:
        return None
    try:
        at = int(values[0])
    except ValueError:
        raise ValueError(f"time must be a Unix time in seconds, got {values[0]!r}") from None
    at = min(at, int(now)) // HISTORY_RESOLUTION_S * HISTORY_RESOLUTION_S
    if at < now - HISTORY_S:
        raise ValueError(f"time={values[0]} is more than {HISTORY_S} s in the past; only the last hour is served")
    return at


def _parse_states_query(query: str) -> tuple[BBox | None, set[str] | None, bool]:
    params = parse_qs(query, keep_blank_values=True)
    box_keys = ("lamin", "lomin", "lamax", "lomax")
    present = [key for key in box_keys if key in params]
    bbox: BBox | None = None
    if present:
        if len(present) != len(box_keys):
            raise ValueError(
                f"a bounding box needs all of lamin, lomin, lamax, lomax; got only {', '.join(present)}"
            )
        bbox = parse_bbox(",".join(params[key][0] for key in box_keys))
    icaos = {
        part.strip().lower() for raw in params.get("icao24", []) for part in raw.split(",") if part.strip()
    }
    extended = params.get("extended", ["0"])[0].strip().lower() in ("1", "true", "yes")
    return bbox, (icaos or None), extended
