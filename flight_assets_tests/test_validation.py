"""Unit tests of the validated_states engine (flight_assets.states.validation): real recordings and crafted rows."""

from __future__ import annotations

import gzip
import io
import json
import random
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import flight_assets.states.validation as validation
from flight_assets.lake.hourly_tables import RawObjects
from flight_assets.lake.parquet import write_parquet
from flight_assets.lake.store import LocalLake
from flight_assets.states.validation import (
    HARD_RULES,
    MAX_GROUND_ALTITUDE_M,
    MAX_PLAUSIBLE_SPEED_MS,
    QUARANTINE_SCHEMA,
    RULES,
    SOFT_RULES,
    STALE_POSITION_S,
    VALIDATED_SCHEMA,
    HourResult,
    build_and_write_hour,
    build_validated_hour,
)
from flight_assets_tests.hour_data import GLOBAL, opensky_data_dir

T0 = 1756576800  # 2025-08-30T18:00:00Z


DATA = opensky_data_dir()
needs_data = pytest.mark.skipif(
    not (DATA / GLOBAL).exists(),
    reason=f"real OpenSky recordings not found in {DATA} (set FLIGHT_OPENSKY_DATA)",
)


# ------------------------------------------------------------------------------------------------------------
# helpers


def gz(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=6, mtime=0)


def row(**changes: object) -> list[object]:
    """A plausible 17-field state; keyword changes by field name."""
    base: dict[str, object] = {
        "icao24": "3c6444", "callsign": "DLH9LF  ", "origin_country": "Germany", "time_position": T0 - 2,
        "last_contact": T0 - 1, "longitude": 8.5622, "latitude": 50.0379, "baro_altitude": 11277.6,
        "on_ground": False, "velocity": 231.5, "true_track": 84.2, "vertical_rate": 0.0, "sensors": None,
        "geo_altitude": 11590.02, "squawk": "1000", "spi": False, "position_source": 0,
    }  # fmt: skip
    base.update(changes)
    return list(base.values())


def body(rows: list[object], time: int = T0, layout: str = "compact") -> bytes:
    doc = {"time": time, "states": rows}
    if layout == "compact":
        return json.dumps(doc, separators=(",", ":")).encode()
    if layout == "spaced":
        return json.dumps(doc).encode()
    return json.dumps(doc, indent=4).encode()


def key(time: int = T0, tag: str = "a") -> str:
    return f"raw/states/year=2025/month=08/day=30/hour=18/{time}_{tag}.json.gz"


def run(*bodies: bytes, **kwargs: object) -> HourResult:
    return build_validated_hour([(key(tag=f"{i:03d}"), gz(b)) for i, b in enumerate(bodies)], **kwargs)


def check_accounting(result: HourResult) -> None:
    s = result.stats
    assert s.rows_valid + s.rows_quarantined == s.rows_total
    objects = sum(s.objects_quarantined.values())
    assert result.validated.num_rows == s.rows_valid
    assert result.quarantine.num_rows == s.rows_quarantined + objects == s.rows_quarantined + len(
        s.quarantined_object_keys)
    assert sum(s.quarantined_by_reason.values()) == s.rows_quarantined
    assert result.validated.schema.equals(VALIDATED_SCHEMA)
    assert result.quarantine.schema.equals(QUARANTINE_SCHEMA)


def only_valid(result: HourResult) -> dict[str, object]:
    check_accounting(result)
    assert result.validated.num_rows == 1, result.quarantine.to_pylist()
    return result.validated.to_pylist()[0]


def only_quarantined(result: HourResult) -> dict[str, object]:
    check_accounting(result)
    assert result.quarantine.num_rows == 1 and result.validated.num_rows == 0
    return result.quarantine.to_pylist()[0]


LAYOUTS = ["compact", "spaced", "indented"]  # the first two take the fast parser, the last the exact one


# ------------------------------------------------------------------------------------------------------------
# real recordings


def _real_files() -> Iterator[tuple[str, bytes]]:
    for path in sorted(DATA.glob("*.json")):
        yield path.name, path.read_bytes()


@needs_data
@pytest.mark.parametrize(
    "name",
    [
        GLOBAL,
        "states_global_20250616T054058Z_indented.json",
        "states_legacy13_20170108T200040Z.json",
        "states_small_20180213.json",
        "states_netherlands_bare_array.json",
    ],
)
def test_real_file_nothing_dropped(name: str) -> None:
    raw = (DATA / name).read_bytes()
    doc = json.loads(raw)
    states = doc if isinstance(doc, list) else doc["states"]
    result = build_validated_hour([(key(), gz(raw))])
    check_accounting(result)
    assert result.stats.rows_total == len(states)
    assert result.stats.snapshots_read == 1
    if isinstance(doc, dict):
        assert result.stats.snapshot_times == (doc["time"],)
    else:  # bare array: dated by its newest last_contact
        assert result.stats.snapshot_times == (max(r[4] for r in states if isinstance(r[4], int)),)
    for raw_row in result.quarantine.column("raw_row").to_pylist():
        assert json.loads(raw_row) in states


@needs_data
def test_real_file_expectations() -> None:
    legacy = build_validated_hour(
        [(key(), gz((DATA / "states_legacy13_20170108T200040Z.json").read_bytes()))]
    )
    states = json.loads((DATA / "states_legacy13_20170108T200040Z.json").read_bytes())["states"]
    missing = sum(r[4] is None for r in states)
    assert missing > 0
    assert (
        legacy.stats.quarantined_by_reason["missing_last_contact"] == missing == legacy.stats.rows_quarantined
    )
    v = legacy.validated
    for column in ("geo_altitude", "squawk", "spi", "position_source", "category"):
        assert v[column].null_count == v.num_rows  # 13-field rows: fields that did not exist yet

    small = build_validated_hour([(key(), gz((DATA / "states_small_20180213.json").read_bytes()))])
    assert small.stats.rows_valid == 6  # the null-position row is kept: a missing position is not corrupt
    assert small.validated["latitude"].null_count == 1 and small.validated["time_position"].null_count == 1

    glob = build_validated_hour([(key(), gz((DATA / GLOBAL).read_bytes()))])
    assert glob.stats.rows_valid == 10_578 and glob.stats.slow_path_snapshots == 0
    speeds = pc.filter(glob.validated["velocity"], glob.validated["flag_implausible_speed"]).to_pylist()
    assert {int(s) for s in speeds} >= {962, 2320}
    assert glob.validated["callsign"].null_count > 0  # "" and all-blank callsigns
    assert not pc.any(pc.ends_with(glob.validated["callsign"], " ")).as_py()


@needs_data
def test_dc_metro_capture_as_one_hour() -> None:
    """900 overlapping 1-s captures: identical bodies skipped, same `time` with another body de-duplicated."""
    with zipfile.ZipFile(DATA / "states_dcmetro_20230318_900_captures.zip") as archive:
        members = [m for m in archive.namelist() if m.endswith(".json")]
        items = [(f"raw/{m}", gz(archive.read(m))) for m in members]
        docs = [json.loads(archive.read(m)) for m in members]
    result = build_validated_hour(items)
    check_accounting(result)
    s = result.stats
    distinct = {json.dumps(d, sort_keys=True) for d in docs}
    assert s.snapshots_read == 900 and s.duplicate_snapshots == 900 - len(distinct)
    assert s.rows_total == sum(len(json.loads(d)["states"] or []) for d in distinct)
    assert len(s.snapshot_times) == len({d["time"] for d in docs}) == 402
    assert s.quarantined_by_reason["duplicate_state"] > 0
    v = result.validated
    pairs = pa.table({"t": v["snapshot_time"], "i": v["icao24"]}).group_by(["t", "i"]).aggregate([])
    assert pairs.num_rows == v.num_rows  # one state per (snapshot_time, icao24)


@needs_data
@pytest.mark.parametrize("name", [p for p, _ in _real_files()] if DATA.exists() else [])
def test_fast_parser_matches_exact_parser(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import flight_assets.states.validation as validation

    raw = (DATA / name).read_bytes()
    doc = json.loads(raw)
    bodies = [raw]
    if isinstance(doc, dict):  # the same snapshot in the API's compact layout too
        bodies.append(json.dumps(doc, separators=(",", ":")).encode())
    for b in bodies:
        fast = build_validated_hour([(key(), gz(b))])
        monkeypatch.setattr(validation, "_parse_fast", lambda _body: None)
        exact = build_validated_hour([(key(), gz(b))])
        monkeypatch.undo()
        assert fast.validated.equals(exact.validated)
        assert fast.quarantine.equals(exact.quarantine)
        assert exact.stats.slow_path_snapshots == 1


@needs_data
def test_germany_count_matches_plain_python() -> None:
    """Independent re-implementation of the hard rules in plain Python over the real global snapshot."""
    raw = (DATA / GLOBAL).read_bytes()
    states = json.loads(raw)["states"]
    hexa = re.compile(r"^[0-9a-fA-F]{6}$")

    def number(v: object) -> bool:
        return v is None or (isinstance(v, int | float) and not isinstance(v, bool))

    seen: set[str] = set()
    germany = 0
    for r in states:
        if not isinstance(r, list) or len(r) < 13:
            continue
        if not all(number(r[i]) for i in (5, 6, 7, 9, 10, 11)) or not isinstance(r[8], bool):
            continue
        if not isinstance(r[0], str) or not hexa.match(r[0]) or r[4] is None:
            continue
        lat, lon = r[6], r[5]
        if (lat is None) != (lon is None) or (
            lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180)
        ):
            continue
        if len(r) > 16 and r[16] is not None and r[16] not in (0, 1, 2, 3):
            continue
        if len(r) > 17 and r[17] is not None and not 0 <= r[17] <= 20:
            continue
        if r[0].lower() in seen:
            continue
        seen.add(r[0].lower())
        germany += r[2] == "Germany"
    result = build_validated_hour([(key(), gz(raw))])
    got = pc.sum(pc.equal(result.validated["origin_country"], "Germany")).as_py()
    assert germany > 100 and got == germany


# ------------------------------------------------------------------------------------------------------------
# cleaning


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    ("callsign", "expected"),
    [
        ("DLH9LF  ", "DLH9LF"),
        ("", None),
        ("        ", None),
        ("FLW ME 1", "FLW ME 1"),
        (None, None),
        ("A", "A"),
    ],
)
def test_callsign_cleaning(layout: str, callsign: str | None, expected: str | None) -> None:
    assert only_valid(run(body([row(callsign=callsign)], layout=layout)))["callsign"] == expected


@pytest.mark.parametrize("layout", LAYOUTS)
def test_fast_parser_taken_for_api_layouts(layout: str) -> None:
    result = run(
        body([row(), row(icao24="aaaaa1", callsign=""), [*row(icao24="aaaaa2")[:16], None]], layout=layout)
    )
    assert result.stats.rows_valid == 3
    assert result.stats.slow_path_snapshots == (layout == "indented")


@pytest.mark.parametrize("value", ['"50.03"', '"x"', "true", "[1]"])
def test_fast_parser_rejects_wrong_kinds(value: str) -> None:
    """Wrong kinds the CSV reader could convert silently (a quoted number) must still reach wrong_type."""
    raw = body([row(icao24="000001"), row(latitude=123456.5)]).replace(b"123456.5", value.encode())
    result = run(raw)
    check_accounting(result)
    assert result.stats.slow_path_snapshots == 1
    assert [q["reason"] for q in result.quarantine.to_pylist()] == ["wrong_type"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_field_cleaning(layout: str) -> None:
    got = only_valid(
        run(
            body(
                [
                    row(
                        icao24="3C6444",
                        origin_country="",
                        baro_altitude=12192,
                        velocity=0,
                        true_track=-10,
                        squawk="0021",
                        position_source=3,
                    )
                ],
                layout=layout,
            )
        )
    )
    assert got["icao24"] == "3c6444"
    assert got["origin_country"] is None
    assert got["baro_altitude"] == 12192.0 and isinstance(got["baro_altitude"], float)
    assert got["velocity"] == 0.0
    assert got["true_track"] == 350.0
    assert got["squawk"] == "0021"
    assert got["position_source"] == 3
    assert got["snapshot_time"].timestamp() == T0 and got["last_contact"].timestamp() == T0 - 1
    assert got["source_key"] == key(tag="000")


@pytest.mark.parametrize("track", [-10, -370.5, 360, 725.25, 0, 359.99])
def test_true_track_normalised(track: float) -> None:
    got = only_valid(run(body([row(true_track=track)])))["true_track"]
    assert 0 <= got < 360 and got == pytest.approx(((track % 360) + 360) % 360)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_row_lengths_13_18_19(layout: str) -> None:
    legacy = row()[:13]
    extended = [*row(icao24="aaaaa1"), 7]
    longer = [*row(icao24="aaaaa2"), 20, "future", 1.5]
    for rows, expect in [
        (
            [legacy],
            {"geo_altitude": None, "squawk": None, "spi": None, "position_source": None, "category": None},
        ),
        ([extended], {"category": 7, "squawk": "1000"}),
        ([longer], {"category": 20, "geo_altitude": 11590.02}),
        ([legacy, extended, longer], None),  # mixed lengths in one body
    ]:
        result = run(body(rows, layout=layout))
        check_accounting(result)
        assert result.stats.rows_valid == len(rows)
        if expect is not None:
            got = result.validated.to_pylist()[0]
            assert {k: got[k] for k in expect} == expect


def test_states_null_and_empty() -> None:
    result = run(b'{"time":1756576800,"states":null}', b'{"time":1756576830,"states":[]}')
    check_accounting(result)
    assert result.stats.rows_total == 0 and result.stats.snapshot_times == (T0, T0 + 30)
    assert result.stats.quality_score == 0.0  # no rows is no quality, never a green 100 %
    empty = build_validated_hour([])
    check_accounting(empty)
    assert empty.stats.snapshots_read == 0
    pq.read_table(io.BytesIO(write_parquet(empty.validated)))


# ------------------------------------------------------------------------------------------------------------
# hard rules → quarantine


HARD_CASES = [
    ("malformed_row", [1, 2, 3]),
    ("malformed_row", "3c6444"),
    ("wrong_type", row(latitude="50.03")),
    ("wrong_type", row(on_ground=1)),
    ("wrong_type", row(on_ground=None)),
    ("wrong_type", row(time_position=1756576798.0)),
    ("wrong_type", row(callsign=123)),
    ("wrong_type", row(squawk=7700)),
    ("wrong_type", row(velocity=True)),
    ("bad_icao24", row(icao24="zz6444")),
    ("bad_icao24", row(icao24="3c644")),
    ("bad_icao24", row(icao24="")),
    ("bad_icao24", row(icao24=None)),
    ("missing_last_contact", row(last_contact=None)),
    ("bad_position", row(latitude=90.5)),
    ("bad_position", row(longitude=-180.01)),
    ("bad_position", row(latitude=None)),
    ("unknown_position_source", row(position_source=4)),
    ("unknown_position_source", row(position_source=-1)),
    ("bad_category", [*row(), 21]),
    ("bad_category", [*row(), -1]),
]


@pytest.mark.parametrize("layout", ["compact", "indented"])
@pytest.mark.parametrize(
    ("reason", "bad"), HARD_CASES, ids=[f"{r}-{i}" for i, (r, _) in enumerate(HARD_CASES)]
)
def test_hard_rule_quarantines(layout: str, reason: str, bad: object) -> None:
    good = row(icao24="abcdef")
    result = run(body([good, bad], layout=layout))
    check_accounting(result)
    assert result.stats.rows_valid == 1 and result.validated["icao24"].to_pylist() == ["abcdef"]
    q = result.quarantine.to_pylist()
    assert len(q) == 1
    assert q[0]["reason"] == reason and result.stats.quarantined_by_reason[reason] == 1
    assert json.loads(q[0]["raw_row"]) == bad
    assert q[0]["row_index"] == 1 and q[0]["source_key"] == key(tag="000") and q[0]["detail"]
    assert q[0]["snapshot_time"].timestamp() == T0


def test_first_reason_wins() -> None:
    bad = row(icao24="nothex", last_contact=None, latitude=100.0, position_source=9)
    assert only_quarantined(run(body([bad])))["reason"] == "bad_icao24"
    bad = row(latitude="x", icao24="nothex")
    assert only_quarantined(run(body([bad])))["reason"] == "wrong_type"
    bad = row(last_contact=None, latitude=100.0)
    assert only_quarantined(run(body([bad])))["reason"] == "missing_last_contact"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_wrong_type_detail_names_the_field(layout: str) -> None:
    q = only_quarantined(run(body([row(latitude="50.03")], layout=layout)))
    assert q["detail"] == 'latitude: expected number, got string "50.03"'
    q = only_quarantined(run(body([row(on_ground=None)], layout=layout)))
    assert q["detail"] == "on_ground: expected bool, got null"
    q = only_quarantined(run(body([row(latitude=91.5)], layout=layout)))
    assert q["detail"] == "latitude=91.5, longitude=8.5622"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_duplicate_state_in_one_snapshot(layout: str) -> None:
    first, second = row(callsign="FIRST   "), row(callsign="SECOND  ", icao24="3C6444")
    result = run(body([row(icao24="000001"), first, second], layout=layout))
    check_accounting(result)
    assert result.validated["callsign"].to_pylist() == ["DLH9LF", "FIRST"]
    q = only_quarantined_reason(result, "duplicate_state")
    assert json.loads(q["raw_row"]) == second and q["row_index"] == 2


def only_quarantined_reason(result: HourResult, reason: str) -> dict[str, object]:
    q = result.quarantine.to_pylist()
    assert [x["reason"] for x in q] == [reason]
    return q[0]


def test_duplicate_state_across_snapshots_with_same_time() -> None:
    """Two different bodies with the same `time` (overlapping requests): the later key's repeat is rejected."""
    a = body([row(callsign="FROM A  "), row(icao24="aaaaaa")])
    b = body([row(icao24="bbbbbb"), row(callsign="FROM B  ")])
    items = [(key(tag="b"), gz(b)), (key(tag="a"), gz(a))]
    result = build_validated_hour(items)
    check_accounting(result)
    assert result.validated["icao24"].to_pylist() == ["3c6444", "aaaaaa", "bbbbbb"]
    assert result.validated["callsign"].to_pylist()[0] == "FROM A"
    q = only_quarantined_reason(result, "duplicate_state")
    assert q["source_key"] == key(tag="b") and q["row_index"] == 1
    assert json.loads(q["raw_row"]) == row(callsign="FROM B  ")
    assert result.stats.flagged == {r.code: 0 for r in SOFT_RULES}


def test_duplicate_snapshots_skipped() -> None:
    b = body([row(), row(icao24="aaaaaa")])
    items = [
        (key(tag="z"), gz(b)),
        (key(tag="y"), gzip.compress(b, compresslevel=1)),
        (key(T0 + 30), gz(body([]))),
    ]
    result = build_validated_hour(items)
    check_accounting(result)
    s = result.stats
    assert (s.snapshots_read, s.duplicate_snapshots, s.rows_total) == (3, 1, 2)
    assert set(result.validated["source_key"].to_pylist()) == {key(tag="y")}  # smallest key kept
    assert s.bytes_in == sum(len(d) for _, d in items)


# ------------------------------------------------------------------------------------------------------------
# soft rules → flags


def test_soft_flags() -> None:
    rows = [
        row(icao24="000001"),
        row(icao24="000002", time_position=T0 - 1 - STALE_POSITION_S),
        row(icao24="000003", time_position=T0 - 2 - STALE_POSITION_S),
        row(icao24="000004", baro_altitude=-600.0),
        row(icao24="000005", geo_altitude=25_000.0),
        row(icao24="000006", velocity=MAX_PLAUSIBLE_SPEED_MS + 1),
        row(icao24="000007", on_ground=True, baro_altitude=37_795.0),
        row(icao24="000008", on_ground=True, baro_altitude=MAX_GROUND_ALTITUDE_M - 100, geo_altitude=None),
        row(
            icao24="000009",
            time_position=None,
            latitude=None,
            longitude=None,
            baro_altitude=None,
            geo_altitude=None,
            velocity=None,
        ),
    ]
    result = run(body(rows))
    check_accounting(result)
    v = result.validated.to_pylist()
    fired = {r["icao24"]: {f.code for f in SOFT_RULES if r[f.flag_column]} for r in v}
    assert fired == {
        "000001": set(),
        "000002": set(),
        "000003": {"stale_position"},
        "000004": {"implausible_altitude"},
        "000005": {"implausible_altitude"},
        "000006": {"implausible_speed"},
        "000007": {"implausible_altitude", "ground_high_altitude"},
        "000008": set(),
        "000009": set(),
    }
    assert result.stats.flagged == {
        "stale_position": 1,
        "implausible_altitude": 3,
        "implausible_speed": 1,
        "ground_high_altitude": 1,
    }


def test_rules_table() -> None:
    codes = [r.code for r in RULES]
    assert len(codes) == len(set(codes))
    assert all(r.why and r.hard for r in HARD_RULES) and all(r.why and not r.hard for r in SOFT_RULES)
    assert [f.name for f in VALIDATED_SCHEMA if f.name.startswith("flag_")] == [
        r.flag_column for r in SOFT_RULES
    ]
    assert all(r.check is not None for r in SOFT_RULES)


# ------------------------------------------------------------------------------------------------------------
# the fast parser must not be fooled


@pytest.mark.parametrize(
    "tricky",
    [
        row(callsign="A[B]C   "),
        row(callsign="AB],[C  "),
        row(origin_country="Iran, Islamic Republic of"),
        row(origin_country='Say "hi"'),
        row(origin_country="Côte d’Ivoire"),
        row(origin_country="new\nline"),
        row(callsign="null"),
        row(sensors=[1, 2]),
        row(sensors=[3]),
    ],
)
@pytest.mark.parametrize("layout", ["compact", "spaced"])
def test_strings_that_look_like_structure(tricky: list[object], layout: str) -> None:
    result = run(body([row(icao24="000001"), tricky], layout=layout))
    check_accounting(result)
    got = result.validated.to_pylist()[1]
    assert got["callsign"] == str(tricky[1]).rstrip() and got["origin_country"] == tricky[2]


def test_escaped_unicode_body() -> None:
    raw = json.dumps(
        {"time": T0, "states": [row(origin_country="Côte d’Ivoire")]}, ensure_ascii=True
    ).encode()
    assert b"\\u" in raw
    assert only_valid(run(raw))["origin_country"] == "Côte d’Ivoire"


@pytest.mark.parametrize(
    "bad_body",
    [
        b"",
        b"not json",
        b"[1, 2",
        b'{"time": "x", "states": []}',
        b'{"states": []}',
        b'{"time": 1}',
        b'"text"',
        b"[]",
    ],
)
def test_unreadable_body_is_quarantined_whole_with_its_key(bad_body: bytes) -> None:
    good = body([row()], time=T0 + 30)
    result = build_validated_hour([(key(tag="bad"), gz(bad_body)), (key(T0 + 30, "good"), gz(good))])
    check_accounting(result)
    assert result.stats.rows_valid == 1  # the readable snapshot of the hour still counts
    assert result.stats.objects_quarantined == {"unreadable_object": 1, "wrong_hour": 0}
    [rejected] = [r for r in result.quarantine.to_pylist() if r["reason"] == "unreadable_object"]
    assert rejected["source_key"] == key(tag="bad") and rejected["row_index"] is None
    assert key(tag="bad") in rejected["detail"]


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _bit_flipped(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x10]) + data[middle + 1:]


@pytest.mark.parametrize(
    ("damage", "why"),
    [(lambda d: b"PK\x03\x04" + d, "not gzip"), (_truncated, "corrupt or truncated gzip"),
     (_bit_flipped, "corrupt or truncated gzip"), (lambda d: d[:-4], "corrupt or truncated gzip")],
    ids=["not gzip", "truncated", "bit flipped", "no trailer"],
)
def test_corrupt_gzip_is_named_and_quarantined(damage: Callable[[bytes], bytes], why: str) -> None:
    rows = [row(icao24=f"{i:06x}") for i in range(400)]  # big enough that half the stream is real data
    bad_key = key(tag="corrupt")
    result = build_validated_hour([(bad_key, damage(gz(body(rows))))])
    check_accounting(result)
    assert result.stats.rows_total == 0 and result.stats.quarantined_object_keys == (bad_key,)
    [rejected] = result.quarantine.to_pylist()
    assert rejected["reason"] == "unreadable_object" and why in rejected["detail"] and bad_key in rejected["detail"]


def test_body_dated_outside_its_hour_is_quarantined_not_mixed_in() -> None:
    stray = T0 + 3600 + 10  # 19:00:10 under hour=18
    result = build_validated_hour([(key(T0), gz(body([row()]))), (key(stray, "b"), gz(body([row()], time=stray)))],
                                  hour_start=T0)
    check_accounting(result)
    assert result.stats.rows_valid == 1 and result.stats.snapshot_times == (T0,)
    [rejected] = [r for r in result.quarantine.to_pylist() if r["row_index"] is None]
    assert rejected["reason"] == "wrong_hour" and "19:00:10" in rejected["detail"]
    assert result.stats.objects_quarantined["wrong_hour"] == 1


# ------------------------------------------------------------------------------------------------------------
# determinism and Parquet


def _hour() -> list[tuple[str, bytes]]:
    rng = random.Random(7)
    items = []
    for i in range(6):
        rows = [
            row(icao24=f"{rng.randrange(1 << 24):06x}", latitude=round(rng.uniform(-90, 90), 4),
                longitude=round(rng.uniform(-180, 180), 4), velocity=rng.choice([0, 250.5, 999.0]))
            for _ in range(300)
        ]  # fmt: skip
        rows.append(row(icao24="xyz"))
        items.append((key(T0 + 30 * i, tag="x"), gz(body(rows, time=T0 + 30 * i))))
    return items


def test_deterministic_parquet_bytes() -> None:
    items = _hour()
    first = build_validated_hour(items)
    shuffled = items[::-1]
    second = build_validated_hour(shuffled, workers=1)
    assert first.stats == second.stats
    assert first.stats.rows_quarantined == 6
    v1, v2 = write_parquet(first.validated), write_parquet(second.validated)
    q1, q2 = write_parquet(first.quarantine), write_parquet(second.quarantine)
    assert v1 == v2 and q1 == q2
    assert write_parquet(first.validated) == v1
    back = pq.read_table(io.BytesIO(v1))  # Parquet has no second unit: timestamps come back as ms
    assert back.cast(VALIDATED_SCHEMA).equals(first.validated)
    assert pq.read_table(io.BytesIO(q1)).cast(QUARANTINE_SCHEMA).equals(first.quarantine)
    meta = pq.ParquetFile(io.BytesIO(v1)).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_sorted_by_snapshot_time_then_icao24() -> None:
    v = build_validated_hour(_hour()).validated
    keys = list(zip(v["snapshot_time"].to_pylist(), v["icao24"].to_pylist(), strict=True))
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_stats_as_dict() -> None:
    d = build_validated_hour(_hour()).stats.as_dict()
    assert d["rows_total"] == 6 * 301 and d["quality_score"] == pytest.approx(300 / 301)
    json.dumps(d)


def test_build_and_write_hour_overlaps_but_writes_the_same_bytes() -> None:
    """The streaming writer gives exactly write_parquet's bytes, whatever the input order and worker count."""
    rows = [[f"a{i:05x}", f"CS{i}", "X", 1756576800, 1756576801, 1.0 + i / 1e4, 2.0, 100.0, False, 200.0, 90.0,
             0.0, None, 110.0, None, False, 0] for i in range(3000)]
    items = []
    for k in range(6):
        t = 1756576800 + 30 * k
        body = json.dumps({"time": t, "states": [[r[0], r[1], r[2], t, t, *r[5:]] for r in rows]}).encode()
        items.append((f"raw/states/year=2025/month=08/day=30/hour=18/{t}_{k:08x}.json.gz", gzip.compress(body)))
    items.append((items[2][0].replace("_00000002", "_0000000f"), items[2][1]))  # an exact duplicate body
    written = build_and_write_hour(items, workers=2)
    assert written.validated_parquet == write_parquet(written.result.validated)
    assert written.quarantine_parquet == write_parquet(written.result.quarantine)
    again = build_and_write_hour(list(reversed(items)), workers=1)
    assert again.validated_parquet == written.validated_parquet
    assert written.result.stats.duplicate_snapshots == 1 and written.result.validated.num_rows == 6 * 3000


def test_raw_objects_fetched_while_built_give_the_same_bytes(tmp_path: Path) -> None:
    """RawObjects (what the asset passes: keys up front, bodies fetched as the build consumes them, a bounded
    window ahead) builds the same hour, byte for byte, as the (key, gzip) pairs read beforehand."""
    lake = LocalLake(str(tmp_path))
    items = _hour()
    items.append((key(T0 + 30, tag="y"), items[1][1]))  # an exact duplicate body under a later key
    for k, data in reversed(items):
        lake.put(k, data)
    fetched: list[str] = []
    ahead = 0

    class Counting(LocalLake):
        def get(self, k: str) -> bytes:
            fetched.append(k)
            return super().get(k)

    raw = RawObjects(Counting(str(tmp_path)), tuple(k for k, _ in reversed(items)), threads=2, window=2)
    consumed = 0
    for k, data in raw.fetch(sorted(raw.keys)):  # in the order asked, never more than `window` ahead
        consumed += 1
        ahead = max(ahead, len(fetched) - consumed)
        assert data == lake.get(k)
    assert consumed == len(items) and ahead <= 2
    from_lake = build_and_write_hour(raw, workers=2)
    from_pairs = build_and_write_hour(items, workers=1)
    assert from_lake.validated_parquet == from_pairs.validated_parquet
    assert from_lake.quarantine_parquet == from_pairs.quarantine_parquet
    assert from_lake.result.stats == from_pairs.result.stats
    assert from_lake.result.stats.duplicate_snapshots == 1
    assert from_lake.result.stats.bytes_in == sum(len(d) for _, d in items)


def test_same_length_and_crc_is_not_enough_to_skip_a_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exact duplicates are proved on the bytes: two different bodies of one `time` whose length and CRC-32 agree
    (every CRC made equal here) are both kept; a byte-identical one is still skipped."""
    monkeypatch.setattr(validation, "_crc32", lambda data: 0)
    a = body([row(icao24="aaaaaa")])
    b = body([row(icao24="bbbbbb")])
    assert len(a) == len(b)
    result = build_validated_hour([(key(tag="a"), gz(a)), (key(tag="b"), gz(b)), (key(tag="c"), gz(a))])
    check_accounting(result)
    assert result.validated["icao24"].to_pylist() == ["aaaaaa", "bbbbbb"]
    assert result.stats.duplicate_snapshots == 1
    assert set(result.validated["source_key"].to_pylist()) == {key(tag="a"), key(tag="b")}


@pytest.mark.parametrize("icao24", ["3C6444", "3c644", "3c64445", "3c644g", "3c644\u00e9"])
def test_icao24_not_in_the_api_form_next_to_plain_ones(icao24: str) -> None:
    """The byte check for 6 lower-case hex digits only skips work: a snapshot where one icao24 is upper-case,
    short, long, not hex or not ASCII is lower-cased and checked by the rule as before."""
    result = run(body([row(icao24="000001"), row(icao24=icao24)]))
    check_accounting(result)
    if icao24 == "3C6444":
        assert result.validated["icao24"].to_pylist() == ["000001", "3c6444"]
    else:
        detail = only_quarantined_reason(result, "bad_icao24")["detail"]
        assert detail == f"icao24={json.dumps(icao24, ensure_ascii=False)}"
