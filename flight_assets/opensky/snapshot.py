"""What one OpenSky `/states/all` body is: parsing and checking it without typing its rows.

Raw bodies are stored byte-exact; this module only proves a body is a complete API response and reads the two
facts landing needs (the snapshot's own `time` and how many states it carries). Typing happens downstream.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from flight_assets.redact import redact

# The fields of one state vector, in the API's order: 17 since 2017, `category` 18th with `extended=1`, and
# pre-2017 rows stop after the first 13. The one home of the layout: validation, the fake server and the landing
# code index rows through these.
STATE_FIELDS: tuple[str, ...] = (
    "icao24", "callsign", "origin_country", "time_position", "last_contact", "longitude", "latitude",
    "baro_altitude", "on_ground", "velocity", "true_track", "vertical_rate", "sensors", "geo_altitude", "squawk",
    "spi", "position_source", "category",
)  # fmt: skip
FIELD_INDEX: dict[str, int] = {name: index for index, name in enumerate(STATE_FIELDS)}
_LAST_CONTACT = FIELD_INDEX["last_contact"]


class SnapshotError(ValueError):
    """The body is not a usable `/states/all` response; the message says why and shows its first bytes."""


@dataclass(frozen=True)
class ParsedSnapshot:
    time: int
    states: int
    # "api" for a `{"time", "states"}` object; "max_last_contact" when a bare array of rows had to be dated by
    # its newest last_contact (the API sets `time` to exactly that), which only `flight-assets land` accepts.
    time_source: str
    sha8: str
    row_lengths: tuple[int, ...]


def body_preview(body: bytes, limit: int = 120, secrets: Iterable[str | None] = ()) -> str:
    """The first bytes of a body as a printable, one-line string for error messages, secrets masked.

    Masked before it is cut, so a secret that an endpoint echoed across the cut leaves no visible prefix.
    """
    text = redact(body[: limit + 1024].decode("utf-8", errors="replace"), secrets)
    text = " ".join(text.split())
    return repr(text[:limit] + ("…" if len(text) > limit or len(body) > limit + 1024 else ""))


def sha8(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:8]


def load_states(body: bytes, *, allow_bare_array: bool = False, where: str = "") -> tuple[int, object, str]:
    """(time, states, time source) of a `/states/all` body: the envelope's rules, in one place.

    `states` is what the body holds under "states" ([] for null; not yet checked to be a list of rows). A bare
    array of rows (`allow_bare_array`) is dated by its newest integer last_contact, as the API sets `time`.
    `where` prefixes every message (an HTTP status, a raw object key)."""
    if not body.strip():
        raise SnapshotError(f"{where}response body is empty; expected OpenSky JSON")
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        kind = "truncated JSON" if _looks_truncated(body) else "not JSON"
        raise SnapshotError(
            f"{where}response body is {kind} ({exc.__class__.__name__}: {exc}); first bytes: {body_preview(body)}"
        ) from None
    if isinstance(doc, list) and allow_bare_array:
        contacts = [r[_LAST_CONTACT] for r in doc if isinstance(r, list) and len(r) > _LAST_CONTACT
                    and type(r[_LAST_CONTACT]) is int]
        if not contacts:
            raise SnapshotError(f"{where}bare array of states has no integer last_contact to date it by")
        return max(contacts), doc, "max_last_contact"
    if isinstance(doc, dict):
        snapshot_time = doc.get("time")
        if type(snapshot_time) is not int:
            raise SnapshotError(
                f"{where}response has no integer 'time' field (got {snapshot_time!r}); first bytes: {body_preview(body)}"
            )
        if "states" not in doc:
            raise SnapshotError(f"{where}response has no 'states' field; first bytes: {body_preview(body)}")
        return snapshot_time, doc["states"] if doc["states"] is not None else [], "api"
    hint = " (a bare array of rows: use `flight-assets land`, which dates it by max(last_contact))" if isinstance(doc, list) else ""
    raise SnapshotError(
        f"{where}response is a JSON {type(doc).__name__}, not an object with 'time' and 'states'{hint}; "
        f"first bytes: {body_preview(body)}"
    )


def parse_snapshot(body: bytes, *, allow_bare_array: bool = False, status: int | None = None) -> ParsedSnapshot:
    """Check that `body` is a complete `/states/all` response and read its `time` and state count.

    `states: null` is a valid empty snapshot. Rows of any length of at least 13 are accepted as they come.
    """
    where = f"HTTP {status} " if status is not None else ""
    snapshot_time, rows, time_source = load_states(body, allow_bare_array=allow_bare_array, where=where)
    if not isinstance(rows, list):
        raise SnapshotError(f"{where}'states' is a {type(rows).__name__}, expected a list or null")
    lengths: set[int] = set()
    for index, row in enumerate(rows):
        if not isinstance(row, list):
            raise SnapshotError(f"{where}state #{index} is a {type(row).__name__}, expected a list of fields")
        lengths.add(len(row))
    if lengths and min(lengths) < 13:
        raise SnapshotError(f"{where}a state row has {min(lengths)} fields; OpenSky rows have at least 13")
    return ParsedSnapshot(
        time=snapshot_time,
        states=len(rows),
        time_source=time_source,
        sha8=sha8(body),
        row_lengths=tuple(sorted(lengths)),
    )


def _looks_truncated(body: bytes) -> bool:
    stripped = body.strip()
    return stripped[:1] in (b"{", b"[") and stripped[-1:] not in (b"}", b"]")
