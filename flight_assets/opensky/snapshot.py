"""What one OpenSky `/states/all` body is: the envelope's rules, checked without typing its rows.

Raw bodies are stored byte-exact; this module only proves a body is a complete API response and reads the two
facts landing needs (the snapshot's own `time` and how many states it carries). The states themselves are checked
row by row downstream (flight_assets/states/validation.py), where one bad row is quarantined and the rest kept.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from flight_assets.redact import redact

try:
    import msgspec

    class _Envelope(msgspec.Struct):
        time: int
        states: list[msgspec.Raw] | None  # each state is proved JSON and skipped, never built

    _ENVELOPE: msgspec.json.Decoder[_Envelope] | None = msgspec.json.Decoder(_Envelope)
    _NOT_PROVED: tuple[type[Exception], ...] = (msgspec.DecodeError, RecursionError)
except ImportError:  # pragma: no cover - msgspec is a dependency; only a foreign-platform package lacks it
    _ENVELOPE = None  # the arm64 Lambda package unpacked on an x86 test machine: every body takes the full parse
    _NOT_PROVED = ()

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
MAX_SNAPSHOT_TIME = 253_402_300_799  # 9999-12-31T23:59:59Z, the last second a datetime (and so a raw key) can hold


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
    except RecursionError:
        raise SnapshotError(f"{where}response body is JSON nested too deeply to read; first bytes: "
                            f"{body_preview(body)}") from None
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


def _scan(body: bytes) -> tuple[int, int] | None:
    """(time, state count) of a body proved to be one JSON object with an integer `time` and `states` an array or
    null, all of it valid JSON (so nothing truncated, spliced or appended); None when it cannot be proved this way.

    msgspec validates every byte as json.loads would but builds only the envelope: 1.6 ms for the 1.57 MB global body
    where json.loads takes 10 ms building its 180,000 values. Whatever it accepts json.loads accepts too, with the same
    `time` (the last one, were it repeated) and count (test_snapshot.py holds the two to one verdict on crafted,
    recorded and damaged bodies); what it refuses (a float `time`, NaN, a byte-order mark, …) falls to `load_states`,
    whose verdict and message stand. msgspec does not check UTF-8 inside strings it skips, so that is checked here
    first (instant for an ASCII body, which is what OpenSky sends).
    """
    if _ENVELOPE is None:  # pragma: no cover
        return None
    if not body.isascii():
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        envelope = _ENVELOPE.decode(body)
    except _NOT_PROVED:
        return None
    return envelope.time, 0 if envelope.states is None else len(envelope.states)


def parse_snapshot(body: bytes, *, allow_bare_array: bool = False, status: int | None = None) -> ParsedSnapshot:
    """Check that `body` is a complete `/states/all` response and read its `time` and state count: what landing needs.

    Refused, with the reason and the body's first bytes: an empty body, anything that is not JSON from its first byte
    to its last (an HTML page, plain text such as "Too many requests", a truncated body), JSON that is not an object
    with an integer `time` and a `states` array (`states: null` is a valid empty snapshot; a bare array of rows only
    with `allow_bare_array`, dated by its newest last_contact), and a `time` no raw key can be dated by (before 1970,
    after 9999). The states are counted, not inspected: the hourly build checks each one and quarantines one that is
    not an array of at least 13 fields as `malformed_row`, keeping the snapshot's other rows (rows of 13, 17, 18 or 19
    fields are all fine).
    """
    where = f"HTTP {status} " if status is not None else ""
    scanned = _scan(body)
    if scanned is not None:
        (snapshot_time, states), time_source = scanned, "api"
    else:
        snapshot_time, rows, time_source = load_states(body, allow_bare_array=allow_bare_array, where=where)
        if not isinstance(rows, list):
            raise SnapshotError(f"{where}'states' is a {type(rows).__name__}, expected a list or null")
        states = len(rows)
    if not 0 <= snapshot_time <= MAX_SNAPSHOT_TIME:  # the raw key and the hour partition are dated by it
        raise SnapshotError(f"{where}'time' {snapshot_time} is not a Unix time from 1970 to 9999; first bytes: "
                            f"{body_preview(body)}")
    return ParsedSnapshot(time=snapshot_time, states=states, time_source=time_source, sha8=sha8(body))


def _looks_truncated(body: bytes) -> bool:
    stripped = body.strip()
    return stripped[:1] in (b"{", b"[") and stripped[-1:] not in (b"}", b"]")
