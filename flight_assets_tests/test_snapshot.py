"""The landing check of a body (flight_assets.opensky.snapshot.parse_snapshot) against the full parse it replaces.

`parse_snapshot` proves a body with msgspec without building its rows and leaves what it cannot prove to
`load_states` (json.loads). Whatever the path, the verdict must be the full parse's: the same bodies refused, with the
same message, and the same `time` and count for the others. Only the row shape moved to the hourly build.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from flight_assets.opensky import snapshot
from flight_assets.opensky.recorded import iter_recorded_bodies
from flight_assets.opensky.snapshot import (
    MAX_SNAPSHOT_TIME,
    SnapshotError,
    body_preview,
    load_states,
    parse_snapshot,
)
from flight_assets_tests.hour_data import GLOBAL

ROW = ["3c6444", "DLH9LF  ", "Germany", 1756577880, 1756577881, 8.5, 50.0, 11000, False, 230.1, 91.0, 0,
       None, 11200.5, "1000", False, 0]


def full_parse(body: bytes, allow_bare_array: bool = False) -> tuple[int, int] | str:
    """The reference: json.loads and the envelope's rules, as landing checked every body before the scan."""
    try:
        snapshot_time, rows, _ = load_states(body, allow_bare_array=allow_bare_array)
    except SnapshotError as exc:
        return str(exc)
    if not isinstance(rows, list):
        return f"'states' is a {type(rows).__name__}, expected a list or null"
    if not 0 <= snapshot_time <= MAX_SNAPSHOT_TIME:
        return f"'time' {snapshot_time} is not a Unix time from 1970 to 9999; first bytes: {body_preview(body)}"
    return snapshot_time, len(rows)


def landing(body: bytes, allow_bare_array: bool = False) -> tuple[int, int] | str:
    try:
        parsed = parse_snapshot(body, allow_bare_array=allow_bare_array)
    except SnapshotError as exc:
        return str(exc)
    return parsed.time, parsed.states


def compact(doc: object) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


CRAFTED: list[bytes] = [
    b"", b"   \n", b"not json", b"Too many requests", b"<html><body>502 Bad Gateway</body></html>",
    b"[]", b'"text"', b"null", b"1756577881", b"{}",
    b'{"time": 1756577881}', b'{"states": []}', b'{"time": "1756577881", "states": []}',
    b'{"time": 1756577881.0, "states": []}', b'{"time": 1.756577881e9, "states": []}', b'{"time": true, "states": []}',
    b'{"time": null, "states": []}', b'{"time": 1756577881, "states": {}}', b'{"time": 1756577881, "states": "x"}',
    b'{"time": 1756577881, "states": 3}', b'{"time": 1756577881, "states": null}', b'{"time": 1756577881, "states": []}',
    b'{"time": -0, "states": []}', b'{"time": 123456789012345678901234567890, "states": []}',
    b'{"time": -1, "states": []}', b'{"time": 253402300799, "states": []}', b'{"time": 253402300800, "states": []}',
    b'{"time": 1, "states": [], "time": 2}', b'{"time": 1, "states": [[1]], "states": [[1], [2]]}',
    b'{"time": 1, "states": [], "extra": {"a": [1, 2]}}', b'{"t\\u0069me": 1, "states": []}',
    b'{"time": 1, "states": []} trailing', b'{"time": 1, "states": []}\x0c', b' \r\n\t{"time": 1, "states": []} \n',
    b'\xef\xbb\xbf{"time": 1, "states": []}', b'{"time": 1, "states": [[NaN, Infinity, -Infinity]]}',
    b'{"time": 1, "states": [["\\ud800"]]}', b'{"time": 1, "states": [["\\x"]]}', b'{"time": 1, "states": [["a\tb"]]}',
    b'{"time": 1, "states": [["a\x00b"]]}', b'{"time": 1, "states": [["a\x7fb"]]}', b'{"time": 1, "states": [[1,]]}',
    b'{"time": 1, "states": [[1 2]]}', b'{"time": 1, "states": [[01]]}', b'{"time": 1, "states": [[-]]}',
    b'{"time": 1, "states": [[1.]]}', b'{"time": 1, "states": [[.5]]}', b'{"time": 1, "states": [[tru]]}',
    b'{"time": 1, "states": [[1e999, 123456789012345678901234567890]]}',
    '{"time": 1, "states": [["Côte d’Ivoire"]]}'.encode(), b'{"time": 1, "states": [["C\xf4te"]]}',
    b'{"time": 1, "states": [["\xed\xa0\x80"]]}',
    b'{"time": 1, "states": [' + b"[" * 400 + b"]" * 400 + b"]}",
    b'{"time": 1, "states": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}",
    # rows of any shape: the envelope is fine, the hourly build judges each row
    compact({"time": 1756577881, "states": [ROW[:13], ROW, [*ROW, 3], [*ROW, 3, "x"]]}),
    compact({"time": 1756577881, "states": [ROW[:12], [], [1, 2, 3], "3c6444", None, {"icao24": "3c6444"}]}),
    json.dumps({"time": 1756577881, "states": [ROW, ROW]}, indent=2).encode(),
]


@pytest.mark.parametrize("body", CRAFTED, ids=[repr(b[:40]) for b in CRAFTED])
def test_crafted_bodies_get_the_full_parse_verdict(body: bytes) -> None:
    assert landing(body) == full_parse(body)
    assert landing(body, allow_bare_array=True) == full_parse(body, allow_bare_array=True)


def test_recorded_bodies_get_the_full_parse_verdict(opensky_data: Path) -> None:
    checked = 0
    for _name, body in iter_recorded_bodies([opensky_data]):
        assert landing(body, allow_bare_array=True) == full_parse(body, allow_bare_array=True)
        checked += 1
    assert checked > 900


@pytest.mark.slow  # about 300 full parses of the 1.6-MB global body: 8 s of CPU
def test_damaged_global_bodies_get_the_full_parse_verdict(opensky_data: Path) -> None:
    """Cuts, flipped bytes, splices and appended bytes anywhere in the real global body: never a different verdict."""
    body = (opensky_data / GLOBAL).read_bytes()
    rng = random.Random(11)
    damaged = [body[:cut] for cut in (1, 2, 30, 31, 32, len(body) // 2, len(body) - 3, len(body) - 2, len(body) - 1)]
    damaged += [body[:cut] for cut in rng.sample(range(len(body)), 40)]
    for at in rng.sample(range(len(body)), 120):
        damaged.append(body[:at] + bytes([rng.randrange(256)]) + body[at + 1:])
        damaged.append(body[:at] + body[at + 1:])
    damaged += [body + b"x", body + b"]", body + b"}", body[:-2] + b", [1, 2]]}", body[: len(body) // 2] + body[-500:]]
    refused = 0
    for bad in damaged:
        verdict = full_parse(bad)
        assert landing(bad) == verdict
        refused += isinstance(verdict, str)
    assert refused > len(damaged) // 2  # most damage is refused; the rest stays valid JSON (a digit for a digit)


def test_the_scan_proves_the_bodies_opensky_sends(opensky_data: Path) -> None:
    """The fast path is taken (json.loads never runs) for the API's bodies, compact, spaced and indented alike."""
    global_body = (opensky_data / GLOBAL).read_bytes()
    assert snapshot._scan(global_body) == (1756577883, 10_578)
    assert snapshot._scan(compact({"time": 5, "states": None})) == (5, 0)
    assert snapshot._scan(json.dumps({"time": 5, "states": [ROW] * 3}, indent=1).encode()) == (5, 3)
    assert snapshot._scan('{"time": 5, "states": [["Côte d’Ivoire"]]}'.encode()) == (5, 1)
    for unproved in (b"[]", b'{"time": 5.0, "states": []}', b'{"time": 5, "states": [[NaN]]}',
                     b'{"time": 5, "states": [["\xff"]]}'):
        assert snapshot._scan(unproved) is None


@pytest.mark.parametrize("snapshot_time", [-1, 253_402_300_800, 10**30])
def test_a_time_no_raw_key_can_hold_is_refused_not_a_crash(snapshot_time: int) -> None:
    """Before, such a body passed the check and the landing raised OverflowError or ValueError dating its key."""
    with pytest.raises(SnapshotError, match=rf"HTTP 200 'time' {snapshot_time} is not a Unix time from 1970 to 9999"):
        parse_snapshot(b'{"time": %d, "states": []}' % snapshot_time, status=200)
