"""The `validated_states` engine: one UTC hour of raw snapshots → typed, cleaned rows + a quarantine of rejects.

Pure domain logic (no Dagster): `build_validated_hour(snapshots)` takes `(raw key, gzip body)` pairs of one hour,
or `KeyedSnapshots` (lake.hourly_tables.RawObjects: keys up front, bodies fetched as they are needed), and returns
an `HourResult` (validated table, quarantine table, stats); `build_and_write_hour` also encodes both tables as the
lake's Parquet (lake/parquet.py) while it works.

How it is fast and small (one hour = 120 snapshots x ~10.6 k rows, ~170-190 MB of JSON, on 2 cores):
- snapshots are fetched, gunzipped, parsed and validated in a thread pool, a bounded window of them ahead of the
  consumer, in time order; every heavy step releases the GIL (gunzip through ISA-L when the `isal` package is
  installed, else zlib; Arrow kernels; Arrow's CSV reader); the validated rows go to the Parquet writer in row
  groups that a thread of its own encodes while later snapshots are parsed;
- memory: the rows kept for the hour and each snapshot's short-lived scratch come from different allocators
  (`_KEEP`, `_SCRATCH`), so the kept rows never pin pages full of freed scratch;
- the fast parser never builds Python objects per row. An API body `{"time":T,"states":[[...],[...]]}` becomes
  CSV by a byte translation (`[` → newline, `]` → comma, one `pyarrow.compute.take` over a 256-entry table), and
  Arrow's CSV reader types the columns directly. The translation is only trusted when counts prove the body
  has the plain shape: one `[`/`]` pair per row (no brackets inside strings, `sensors` null), no backslash
  escapes, and exactly two quotes per non-null string field (so a quoted number or an unquoted string is caught:
  wrong types never pass silently). A value of the wrong kind that Arrow cannot convert ("abc" as a float, 1.5
  as an integer, 1 as a bool) makes the reader fail. Any of these, a body pretty-printed or reordered, a bare
  array or a mixed row length, sends that one snapshot to the exact (slow, per-row Python) parser, which
  produces the same typed columns plus per-row type verdicts;
- every rule is a vectorised Arrow predicate evaluated once per snapshot; per-row Python only runs for the rare
  quarantined rows (to write their reason detail and raw JSON). icao24 values that are all 6 lower-case hex
  digits (the API's form) are proved so on their bytes, so bad_icao24's regex and the lower-casing are skipped.
The fast parser takes the API's compact layout and Python's `json.dumps` default layout (", " and ": "
separators, as in the recorded global snapshot); anything else is read exactly, only slower.

Rules live in one table (`HARD_RULES`, `SOFT_RULES`: code + why + vectorised check). Hard rules, in precedence
order (a row failing several is quarantined once, under the first): malformed_row, wrong_type, bad_icao24,
missing_last_contact, bad_position, unknown_position_source, bad_category, duplicate_state. The duplicate rule
runs last, among rows that pass all others (a corrupt twin never evicts a good row); of several states of one
aircraft at one snapshot_time the first in (source_key, position in the body) order is kept, also when two
different bodies carry the same `time` (overlapping requests).

Validated table (sorted by snapshot_time, icao24; one row per (snapshot_time, icao24)):
    snapshot_time timestamp[s, UTC]   icao24 string (lower-case hex)   callsign string   origin_country string
    time_position timestamp[s, UTC]   last_contact timestamp[s, UTC]   longitude/latitude/baro_altitude float64
    on_ground bool   velocity/true_track/vertical_rate/geo_altitude float64   squawk string   spi bool
    position_source int8   category int8
    flag_stale_position / flag_implausible_altitude / flag_implausible_speed / flag_ground_high_altitude bool
        (one non-null bool column per soft rule: True where the rule fired; False when it did not or could not
        be evaluated because its inputs are null)
    source_key dictionary<int32, string>   the raw object key the row came from
Quarantine table (sorted by snapshot_time, source_key, row_index; nothing is dropped):
    snapshot_time timestamp[s, UTC]   source_key string   row_index int32 (position in the body's states)
    reason string (a hard rule code)   detail string   raw_row string (the row as compact JSON text)

Cleaning: callsign trailing whitespace stripped, "" or all-blank → null, inner spaces kept; origin_country ""
or all-blank → null; icao24 lower-cased; JSON integers accepted for float fields; true_track normalised into
[0, 360); squawk kept as a string; fields missing from 13-field (pre-2017) rows are null; the 18th field is
category (absent → null); fields beyond the 18th and `sensors` are ignored.

Snapshot-level behaviour: exact duplicate snapshots (byte-identical decompressed bodies: length and CRC-32
first, then the bytes compared; identical bodies carry the same `time`, so only snapshots of one `time` are
compared) are skipped and counted, the one with the smallest key is kept; rows of skipped copies are not counted in rows_total. A bare
array of rows (no `{"time", "states"}` wrapper) is dated by its newest integer last_contact, as
`flight-assets land` does. `states: null` is an empty snapshot.
Object-level quarantine: a raw object that cannot be read (not gzip, corrupt or truncated gzip, not JSON, not
a states response) is quarantined whole with reason `unreadable_object` and its key, and one whose own `time`
lies outside the hour being built (a body under the wrong `hour=` folder) with reason `wrong_hour`; neither
fails the hour, and neither contributes rows. Their quarantine row has no row_index and no raw_row (the object
itself stays in raw/ for inspection); `HourStats.objects_quarantined` counts them by reason.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

import pyarrow as pa
import pyarrow.compute as _compute
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from flight_assets.lake.hourly_tables import windowed_map
from flight_assets.lake.layout import parse_raw_key
from flight_assets.lake.parquet import PAGE_ROWS, parquet_options, write_parquet
from flight_assets.opensky.snapshot import STATE_FIELDS, SnapshotError, body_preview, load_states

try:  # ISA-L inflate is ~2x zlib's; optional, identical output.
    from isal import isal_zlib as _inflate
except ImportError:  # pragma: no cover - exercised only where isal is absent
    _inflate = zlib  # type: ignore[assignment]
_crc32 = _inflate.crc32  # ISA-L's runs at ~20 GB/s: a body's fingerprint costs nothing next to its parse


# Memory. An hour's build allocates several times its rows in scratch (CSV buffers, masks, intermediates), freed
# within milliseconds, next to the rows it keeps for the whole build. In one pool, the kept rows pin pages of the
# default allocator's (mimalloc's) thread heaps: at the end of the benchmark hour they held ~100 MB of freed
# scratch beside 157 MB of rows. So the kept rows go to _KEEP (the system allocator; never freed during the build,
# they pack densely) and everything else to _SCRATCH (jemalloc, which reuses and returns freed memory): the
# benchmark hour's peak RSS is ~40 MB lower (bench/hourly.py).
def _scratch_pool() -> pa.MemoryPool:
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:  # pragma: no cover - a pyarrow built without jemalloc
        return pa.system_memory_pool()


_KEEP = pa.system_memory_pool()
_SCRATCH = _scratch_pool()


class _PooledCompute:
    """pyarrow.compute whose functions allocate from `pool` unless a call names its own memory_pool."""

    def __init__(self, pool: pa.MemoryPool) -> None:
        self._pool = pool

    def __getattr__(self, name: str) -> Callable[..., pa.Array]:
        bound = functools.partial(getattr(_compute, name), memory_pool=self._pool)
        setattr(self, name, bound)  # looked up once
        return bound


pc = _PooledCompute(_SCRATCH)  # every `pc.` call below allocates scratch

__all__ = [
    "FIELDS",
    "HARD_RULES",
    "MAX_GROUND_ALTITUDE_M",
    "MAX_PLAUSIBLE_ALTITUDE_M",
    "MAX_PLAUSIBLE_SPEED_MS",
    "MIN_PLAUSIBLE_ALTITUDE_M",
    "QUARANTINE_SCHEMA",
    "RULES",
    "SOFT_RULES",
    "VALUE_DOMAINS",
    "STALE_POSITION_S",
    "VALIDATED_SCHEMA",
    "OBJECT_REASONS",
    "HourResult",
    "HourStats",
    "KeyedSnapshots",
    "Rule",
    "SnapshotError",
    "build_and_write_hour",
    "build_validated_hour",
]

# --------------------------------------------------------------------------------------------------------------
# Thresholds, chosen by measuring the real recordings in shared/data/opensky (global snapshot of 2025-08-30,
# 10,578 rows, unless said otherwise):
# - last_contact - time_position: median 0 s, p95 6 s, p99 120 s, p99.9 1,460 s, max 7,164 s. The API docs say
#   time_position turns null after 15 s without a position report, yet rows carry positions hours old; 300 s
#   (an airliner covers ~70 km) flags 47 rows (0.4 %), whose position should not be used for tracks or maps.
STALE_POSITION_S = 300
# - altitudes: baro -68.6 .. 14,554 m, geo -22.9 .. 15,034 m here; the README adds baro -114 m, geo -739 m and
#   baro 37,795 m. Below the Dead Sea shore (-430 m) minus margin, or above 20,000 m (business jets top out at
#   15,500 m, Concorde cruised at 18,300 m) is implausible for what this feed carries.
MIN_PLAUSIBLE_ALTITUDE_M = -500.0
MAX_PLAUSIBLE_ALTITUDE_M = 20_000.0
# - velocity (ground speed): 99.96 % of rows <= 325 m/s (airliners in the jet stream); the rest are 432, 462,
#   963 and 2,320 m/s. 400 m/s (~Mach 1.35 at cruise altitude) flags those four and no airliner.
MAX_PLAUSIBLE_SPEED_MS = 400.0
# - on_ground rows: the highest airport is Daocheng Yading at 4,411 m; ground rows here sit at <= 1,547 m
#   (Denver) except two at 2,301 m and 5,075 m that fly at 220 and 254 m/s. 4,500 m catches the impossible ones
#   (the README's 37,795 m) without flagging any high airport.
MAX_GROUND_ALTITUDE_M = 4_500.0

# The domain of each bounded column of the validated table: (low, high, high inclusive). The hard rules reject
# values outside them, true_track is normalised into it, and the value_ranges check proves the written file
# holds nothing else (quality.value_ranges reads this table).
VALUE_DOMAINS: dict[str, tuple[float, float, bool]] = {
    "latitude": (-90.0, 90.0, True),
    "longitude": (-180.0, 180.0, True),
    "true_track": (0.0, 360.0, False),
    "position_source": (0, 3, True),
    "category": (0, 20, True),
}

FIELDS = STATE_FIELDS  # the API's field order (opensky/snapshot.py)
# JSON kind expected per field ("any" = not checked, not kept); null is always allowed at parse time.
_KINDS: dict[str, str] = {
    "icao24": "string", "callsign": "string", "origin_country": "string", "time_position": "integer",
    "last_contact": "integer", "longitude": "number", "latitude": "number", "baro_altitude": "number",
    "on_ground": "bool", "velocity": "number", "true_track": "number", "vertical_rate": "number", "sensors": "any",
    "geo_altitude": "number", "squawk": "string", "spi": "bool", "position_source": "integer", "category": "integer",
}  # fmt: skip
_ARROW_OF_KIND = {"string": pa.string(), "integer": pa.int64(), "number": pa.float64(), "bool": pa.bool_()}
_KEPT = tuple(f for f in FIELDS if f != "sensors")
_PARSE_TYPES: dict[str, pa.DataType] = {f: _ARROW_OF_KIND[_KINDS[f]] for f in _KEPT}
_STRING_FIELDS = tuple(f for f in _KEPT if _KINDS[f] == "string")

_TS = pa.timestamp("s", tz="UTC")

Columns = Mapping[str, pa.Array]


# --------------------------------------------------------------------------------------------------------------
# Rules: the one place where what is rejected or flagged is decided.


@dataclass(frozen=True)
class Rule:
    """One data rule. Hard rules quarantine a row (the first that fires, in HARD_RULES order, is its reason);
    soft rules keep the row and set the bool column `flag_<code>`.

    `check` is vectorised: it gets the snapshot's typed columns and returns a non-null bool array, True where
    the rule fires. Rules without `check` are applied by the parser (malformed_row, wrong_type) or by the
    duplicate pass (duplicate_state). The quarantine detail quotes `detail_fields`, or is `detail_text` when the
    check has a single cause; the parser writes its own details.
    """

    code: str
    hard: bool
    why: str
    check: Callable[[Columns], pa.Array] | None = None
    detail_fields: tuple[str, ...] = ()
    detail_text: str | None = None

    @property
    def flag_column(self) -> str:
        return f"flag_{self.code}"


def _fired(mask: pa.Array) -> pa.Array:
    return pc.coalesce(mask, False)  # fill_null, which takes no memory_pool


def _outside(values: pa.Array, low: float, high: float) -> pa.Array:
    """True where a non-null value is outside [low, high] (NaN counts as outside)."""
    if values.null_count == len(values):  # category in rows without it: all False, one kernel instead of five
        return pc.is_valid(values)
    return _fired(pc.invert(pc.and_(pc.greater_equal(values, low), pc.less_equal(values, high))))


_ICAO24 = r"^[0-9a-fA-F]{6}$"
_LOWER_HEX = pa.array([int(b in b"0123456789abcdef") for b in range(256)], pa.uint8())


def _lower_hex6(icao24: pa.Array) -> bool:
    """Every icao24 is 6 lower-case hex digits (what the API sends): bad_icao24 cannot fire and there is nothing to
    lower-case. Checked on the string bytes with four cheap kernels instead of a regex and a lower-casing."""
    if icao24.null_count or not len(icao24):
        return False
    lengths = pc.min_max(pc.binary_length(icao24)).as_py()
    if lengths != {"min": 6, "max": 6}:
        return False
    _, offsets, data = icao24.buffers()
    start = pa.Array.from_buffers(pa.int32(), 1, [None, offsets], offset=icao24.offset)[0].as_py()
    chars = pa.Array.from_buffers(pa.uint8(), 6 * len(icao24), [None, data], offset=start)
    return pc.min(pc.take(_LOWER_HEX, chars)).as_py() == 1


def _bad_icao24(c: Columns) -> pa.Array:
    return pc.invert(_fired(pc.match_substring_regex(c["icao24"], _ICAO24)))  # null is bad too


def _bad_position(c: Columns) -> pa.Array:
    lat, lon = c["latitude"], c["longitude"]
    half_missing = pc.not_equal(pc.is_null(lat), pc.is_null(lon))
    return pc.or_(half_missing, pc.or_(_outside(lat, *VALUE_DOMAINS["latitude"][:2]), _outside(lon, *VALUE_DOMAINS["longitude"][:2])))


def _implausible_altitude(c: Columns) -> pa.Array:
    low, high = MIN_PLAUSIBLE_ALTITUDE_M, MAX_PLAUSIBLE_ALTITUDE_M
    return pc.or_(_outside(c["baro_altitude"], low, high), _outside(c["geo_altitude"], low, high))


def _ground_high(c: Columns) -> pa.Array:
    high = pc.or_(
        _fired(pc.greater(c["baro_altitude"], MAX_GROUND_ALTITUDE_M)),
        _fired(pc.greater(c["geo_altitude"], MAX_GROUND_ALTITUDE_M)),
    )
    return pc.and_(_fired(c["on_ground"]), high)


def _stale(c: Columns) -> pa.Array:
    age = pc.subtract(pc.cast(c["last_contact"], pa.int64()), pc.cast(c["time_position"], pa.int64()))
    return _fired(pc.greater(age, STALE_POSITION_S))


HARD_RULES: tuple[Rule, ...] = (
    Rule(
        "malformed_row", True, "a state that is not a JSON array of at least 13 fields cannot be read at all"
    ),
    Rule(
        "wrong_type",
        True,
        "a field of the wrong JSON type (quoted number, number as string, non-bool on_ground) "
        "means the producer is broken; its other values cannot be trusted",
        lambda c: pc.is_null(c["on_ground"]),  # on_ground is the one field that may not be null
        detail_text="on_ground: expected bool, got null",
    ),
    Rule(
        "bad_icao24",
        True,
        "the ICAO 24-bit address (6 hex digits) is the aircraft's identity and join key",
        _bad_icao24,
        ("icao24",),
    ),
    Rule(
        "missing_last_contact",
        True,
        "without last_contact a state cannot be placed in time",
        lambda c: pc.is_null(c["last_contact"]),
        ("last_contact",),
    ),
    Rule(
        "bad_position",
        True,
        "latitude outside [-90, 90], longitude outside [-180, 180], or only one of them "
        "null: the position is corrupt",
        _bad_position,
        ("latitude", "longitude"),
    ),
    Rule(
        "unknown_position_source",
        True,
        "position_source is 0 ADS-B, 1 ASTERIX, 2 MLAT or 3 FLARM; anything else is an unknown producer",
        lambda c: _outside(c["position_source"], *VALUE_DOMAINS["position_source"][:2]),
        ("position_source",),
    ),
    Rule(
        "bad_category",
        True,
        "category (18th field, extended=1) is defined for 0-20 only",
        lambda c: _outside(c["category"], *VALUE_DOMAINS["category"][:2]),
        ("category",),
    ),
    Rule(
        "duplicate_state",
        True,
        "one state per aircraft per snapshot: a later (snapshot_time, icao24) "
        "repeat would double-count in aggregates",
        None,
        ("icao24",),
    ),
)
SOFT_RULES: tuple[Rule, ...] = (
    Rule(
        "stale_position",
        False,
        f"last_contact - time_position > {STALE_POSITION_S} s: the position is old",
        _stale,
    ),
    Rule(
        "implausible_altitude",
        False,
        f"baro or geo altitude outside [{MIN_PLAUSIBLE_ALTITUDE_M:g}, {MAX_PLAUSIBLE_ALTITUDE_M:g}] m",
        _implausible_altitude,
    ),
    Rule(
        "implausible_speed",
        False,
        f"velocity > {MAX_PLAUSIBLE_SPEED_MS:g} m/s",
        lambda c: _fired(pc.greater(c["velocity"], MAX_PLAUSIBLE_SPEED_MS)),
    ),
    Rule(
        "ground_high_altitude",
        False,
        f"on_ground with baro or geo altitude > {MAX_GROUND_ALTITUDE_M:g} m",
        _ground_high,
    ),
)
RULES: tuple[Rule, ...] = HARD_RULES + SOFT_RULES
_CODE = {r.code: i + 1 for i, r in enumerate(HARD_RULES)}  # 0 = valid
_MALFORMED, _WRONG_TYPE, _DUPLICATE = _CODE["malformed_row"], _CODE["wrong_type"], _CODE["duplicate_state"]

VALIDATED_SCHEMA = pa.schema(
    [
        ("snapshot_time", _TS), ("icao24", pa.string()), ("callsign", pa.string()), ("origin_country", pa.string()),
        ("time_position", _TS), ("last_contact", _TS), ("longitude", pa.float64()), ("latitude", pa.float64()),
        ("baro_altitude", pa.float64()), ("on_ground", pa.bool_()), ("velocity", pa.float64()),
        ("true_track", pa.float64()), ("vertical_rate", pa.float64()), ("geo_altitude", pa.float64()),
        ("squawk", pa.string()), ("spi", pa.bool_()), ("position_source", pa.int8()), ("category", pa.int8()),
        *[(r.flag_column, pa.bool_()) for r in SOFT_RULES],
        ("source_key", pa.dictionary(pa.int32(), pa.string())),
    ]
)  # fmt: skip
QUARANTINE_SCHEMA = pa.schema(
    [
        ("snapshot_time", _TS), ("source_key", pa.string()), ("row_index", pa.int32()), ("reason", pa.string()),
        ("detail", pa.string()), ("raw_row", pa.string()),
    ]
)  # fmt: skip


# --------------------------------------------------------------------------------------------------------------
# Results


# Reasons for quarantining a whole raw object (one quarantine row per object, row_index null).
UNREADABLE_OBJECT = "unreadable_object"
WRONG_HOUR = "wrong_hour"
OBJECT_REASONS = (UNREADABLE_OBJECT, WRONG_HOUR)


@dataclass(frozen=True)
class HourStats:
    rows_total: int
    rows_valid: int
    rows_quarantined: int  # rows of readable snapshots that failed a hard rule
    quarantined_by_reason: dict[str, int]  # every hard rule code, 0 included
    flagged: dict[str, int]  # soft rule code -> validated rows flagged
    snapshots_read: int  # items given, duplicates included
    duplicate_snapshots: int
    snapshot_times: tuple[int, ...]  # distinct `time` of the kept snapshots, ascending
    distinct_aircraft: int  # distinct icao24 among validated rows
    distinct_countries: int  # distinct non-null origin_country among validated rows
    bytes_in: int  # compressed bytes of all items read
    slow_path_snapshots: int  # snapshots the exact per-row parser had to read (diagnostic)
    # Whole raw objects quarantined, per OBJECT_REASONS code (0 included), and their keys (sorted).
    objects_quarantined: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OBJECT_REASONS, 0))
    quarantined_object_keys: tuple[str, ...] = ()

    @property
    def quality_score(self) -> float:
        """valid / total rows; 0.0 for an hour without rows: nothing valid is not perfect quality."""
        return self.rows_valid / self.rows_total if self.rows_total else 0.0

    def as_dict(self) -> dict[str, object]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["snapshot_times"] = list(self.snapshot_times)
        out["quality_score"] = self.quality_score
        return out


@dataclass(frozen=True)
class HourResult:
    validated: pa.Table
    quarantine: pa.Table
    stats: HourStats


# --------------------------------------------------------------------------------------------------------------
# Parsing


@dataclass
class _Parsed:
    time: int
    n: int
    columns: dict[str, pa.Array]  # every _KEPT field, typed as _PARSE_TYPES, length n
    raw_rows: Callable[[list[int]], list[str]]  # row indices -> compact JSON text of those rows
    pre_reason: list[int] | None = None  # slow path: malformed_row / wrong_type code per row (0 = fine)
    pre_detail: dict[int, str] = field(default_factory=dict)
    slow: bool = False


def _gunzip(key: str, data: bytes) -> bytes:
    if data[:2] != b"\x1f\x8b":
        raise SnapshotError(f"{key}: not gzip data; first bytes: {body_preview(data, 40)}")
    isize = int.from_bytes(data[-4:], "little")
    try:
        body = _inflate.decompress(data, 31, max(16384, min(isize, 1100 * len(data))))
        if len(body) & 0xFFFFFFFF != isize:  # multi-member gzip: decompress() stops after the first member
            import gzip

            body = gzip.decompress(data)
    # isal's IsalError (`_inflate.error`, not a zlib.error: "incomplete or truncated stream", "Incorrect checksum"),
    # zlib.error, gzip's EOFError and BadGzipFile (an OSError): every way a damaged object fails, named by key.
    except (_inflate.error, zlib.error, EOFError, OSError, ValueError) as exc:
        raise SnapshotError(f"{key}: corrupt or truncated gzip data ({type(exc).__name__}: {exc})") from None
    return body


_COMPACT_HEAD = re.compile(rb'\{"time":(\d{1,18}),"states":\[\[')
_SPACED_HEAD = re.compile(rb'\{"time": (\d{1,18}), "states": \[\[')
_TRANSLATE = pa.array([10 if b == 0x5B else 0x2C if b == 0x5D else b for b in range(256)], pa.uint8())
_CSV_PARSE = pcsv.ParseOptions(delimiter=",", quote_char='"', double_quote=False, escape_char=False)
_CSV_CONVERT: dict[tuple[int, ...], pcsv.ConvertOptions] = {}


def _u8(buf: pa.Buffer, offset: int, length: int) -> pa.Array:
    return pa.Array.from_buffers(pa.uint8(), length, [None, buf], offset=offset)


def _count(u8: pa.Array, byte: int) -> int:
    return pc.sum(pc.equal(u8, pa.scalar(byte, pa.uint8()))).as_py() or 0


def _parse_fast(body: bytes) -> _Parsed | None:
    """Type a plain `{"time":T,"states":[[...],...]}` body through Arrow's CSV reader; None when not provable."""
    match = _COMPACT_HEAD.match(body)
    spaced = False
    if match is None:
        match = _SPACED_HEAD.match(body)
        if match is None:
            return None
        spaced = True
    end = len(body)
    while end and body[end - 1] in b" \t\r\n":
        end -= 1
    if body[end - 3 : end] != b"]]}":
        return None
    snapshot_time = int(match.group(1))
    separators = 0
    if spaced:  # Python's json.dumps default layout: drop ", " (counted: none may sit inside a string)
        separators = body.count(b", ")
        body = body.replace(b", ", b",")
        end -= separators
    start = body.index(b"[[") + 1  # first row's "["
    stop = end - 1  # just past the outer "]"
    first_close = body.find(b"]", start)
    try:
        first = json.loads(body[start : first_close + 1])
    except ValueError:
        return None
    if not isinstance(first, list) or len(first) < 13:
        return None
    width = len(first)
    names = [FIELDS[i] if i < len(FIELDS) else f"_extra{i}" for i in range(width)] + ["_pad1", "_pad2"]
    present = tuple(f for f in FIELDS[: min(width, len(FIELDS))] if f != "sensors")

    buf = pa.py_buffer(body)
    rows_u8 = _u8(buf, start, stop - start)
    csv_bytes = pc.take(_TRANSLATE, rows_u8).buffers()[1]
    convert = _CSV_CONVERT.get((width,))
    if convert is None:
        convert = pcsv.ConvertOptions(
            column_types={f: _PARSE_TYPES[f] for f in present},
            null_values=["null"],
            true_values=["true"],
            false_values=["false"],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            include_columns=list(present),
        )
        _CSV_CONVERT[(width,)] = convert
    read = pcsv.ReadOptions(column_names=names, use_threads=False, block_size=max(1 << 20, stop - start + 1))
    try:
        table = pcsv.read_csv(
            pa.BufferReader(csv_bytes), read_options=read, parse_options=_CSV_PARSE, convert_options=convert,
            memory_pool=_SCRATCH,
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    n = table.num_rows
    if _count(rows_u8, 0x5B) != n or _count(rows_u8, 0x5D) != n + 1:
        return None  # a bracket inside a string or a non-null sensors array
    if body.find(b"\\") != -1:  # memchr: free next to a count
        return None  # escapes: let the JSON decoder read them
    quotes = 4 + 2 * sum(n - table.column(f).null_count for f in _STRING_FIELDS if f in present)
    if _count(_u8(buf, 0, len(body)), 0x22) != quotes:
        return None  # a quoted non-string or an unquoted string somewhere
    if spaced and separators != n * width:
        return None  # ", " inside a string value was collapsed
    columns = {}
    for f in _KEPT:
        if f in present:
            col = table.column(f)
            columns[f] = col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
        else:
            columns[f] = pa.nulls(n, _PARSE_TYPES[f])

    def raw_rows(indices: list[int]) -> list[str]:
        opens = pc.indices_nonzero(pc.equal(rows_u8, pa.scalar(0x5B, pa.uint8()))).to_pylist()
        closes = pc.indices_nonzero(pc.equal(rows_u8, pa.scalar(0x5D, pa.uint8()))).to_pylist()
        return [body[start + opens[i] : start + closes[i] + 1].decode("utf-8", "replace") for i in indices]

    return _Parsed(snapshot_time, n, columns, raw_rows)


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _fits(kind: str, value: object) -> bool:
    tv = type(value)
    if kind == "string":
        return tv is str
    if kind == "integer":
        return tv is int and -(2**63) <= value < 2**63  # type: ignore[operator]
    if kind == "number":
        return tv is float or (tv is int and -(2**63) <= value < 2**63)  # type: ignore[operator]
    if kind == "bool":
        return tv is bool
    return True


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _parse_slow(key: str, body: bytes) -> _Parsed:
    """Exact reader for any body: per-row type checks in Python. Used for odd layouts and for rows that fail."""
    snapshot_time, rows, _ = load_states(body, allow_bare_array=True, where=f"{key}: ")
    if not isinstance(rows, list):
        raise SnapshotError(f"{key}: 'states' is a {_json_kind(rows)}, expected an array or null")
    if not -(2**63) <= snapshot_time < 2**63:
        raise SnapshotError(f"{key}: 'time' {snapshot_time} is out of range")

    n = len(rows)
    values: dict[str, list[object]] = {f: [None] * n for f in _KEPT}
    pre_reason = [0] * n
    pre_detail: dict[int, str] = {}
    kept_positions = [(i, f, _KINDS[f]) for i, f in enumerate(FIELDS) if f != "sensors"]
    for r, row in enumerate(rows):
        if not isinstance(row, list) or len(row) < 13:
            pre_reason[r] = _MALFORMED
            what = f"an array of {len(row)} fields" if isinstance(row, list) else f"a JSON {_json_kind(row)}"
            pre_detail[r] = f"state is {what}; expected an array of at least 13 fields"
            continue
        width = len(row)
        bad = next(
            ((f, kind, row[i]) for i, f, kind in kept_positions if i < width and row[i] is not None
             and not _fits(kind, row[i])),
            None,
        )  # fmt: skip
        if bad is not None:
            f, kind, value = bad
            pre_reason[r] = _WRONG_TYPE
            pre_detail[r] = f"{f}: expected {kind}, got {_json_kind(value)} {_compact(value)[:60]}"
            continue
        for i, f, _kind in kept_positions:
            if i < width:
                values[f][r] = row[i]
    columns = {f: pa.array(values[f], type=_PARSE_TYPES[f]) for f in _KEPT}

    def raw_rows(indices: list[int]) -> list[str]:
        return [_compact(rows[i]) for i in indices]

    return _Parsed(
        snapshot_time, n, columns, raw_rows, pre_reason if any(pre_reason) else None, pre_detail, True
    )


# --------------------------------------------------------------------------------------------------------------
# Per-snapshot validation (runs in worker threads; Arrow kernels release the GIL)


Digest = tuple[int, int]  # (length, CRC-32) of a decompressed body: equal for byte-identical bodies


@dataclass
class _SnapshotOut:
    key: str
    digest: Digest
    time: int
    rows: int
    valid: pa.RecordBatch  # validated columns except snapshot_time/source_key, plus "__row", sorted by icao24
    quarantine: list[tuple[int, str, str, str]]  # (row_index, reason, detail, raw_row)
    flagged: dict[str, int]
    slow: bool
    compressed: bytes  # kept until its `time` group is resolved (exact-duplicate proof, same-time states); not copied


def _valid_schema() -> pa.Schema:
    fields = [f for f in VALIDATED_SCHEMA if f.name not in ("snapshot_time", "source_key")]
    return pa.schema([*fields, ("__row", pa.int32())])


_VALID_SCHEMA = _valid_schema()
_INT8 = pa.int8()


def _detail(rule: Rule, row: dict[str, object]) -> str:
    if rule.detail_text is not None:
        return rule.detail_text
    return ", ".join(f"{f}={_compact(row.get(f))}" for f in rule.detail_fields)


def _normalise_track(track: pa.Array) -> pa.Array:
    outside = _fired(pc.or_(pc.less(track, 0.0), pc.greater_equal(track, 360.0)))
    if not outside.true_count:
        return track
    wrapped = pc.subtract(track, pc.multiply(pc.floor(pc.divide(track, 360.0)), 360.0))
    wrapped = pc.if_else(_fired(pc.greater_equal(wrapped, 360.0)), pc.subtract(wrapped, 360.0), wrapped)
    return pc.if_else(outside, wrapped, track)


def _blank_to_null(values: pa.Array) -> pa.Array:
    blank = _fired(pc.or_(pc.equal(values, ""), pc.utf8_is_space(values)))
    if not blank.true_count:
        return values
    return pc.if_else(blank, pa.scalar(None, pa.string()), values)


_CLEANED = [f for f in _VALID_SCHEMA if not f.name.startswith("flag_") and f.name != "__row"]


def _clean(cols: Columns, icao24: pa.Array, order: pa.Array) -> dict[str, pa.Array]:
    """Validated columns of the rows `order` points at, cleaned and typed (`icao24` is already lower-cased).
    The columns are the hour's table: allocated from _KEEP, apart from the snapshot's scratch."""
    arrays = []
    for f in _CLEANED:
        values = icao24 if f.name == "icao24" else cols[f.name]
        if f.name == "callsign":
            values = _blank_to_null(pc.utf8_rtrim_whitespace(values))
        elif f.name == "origin_country":
            values = _blank_to_null(values)
        elif f.name == "true_track":
            values = _normalise_track(values)
        arrays.append(values)
    rows = pc.take(pa.RecordBatch.from_arrays(arrays, names=[f.name for f in _CLEANED]), order, memory_pool=_KEEP)
    # typed after the take: a value that does not fit (position_source 300) belongs to a quarantined row
    return {f.name: col if col.type == f.type else pc.cast(col, f.type, memory_pool=_KEEP)
            for f, col in zip(_CLEANED, rows.columns, strict=True)}


def _validate(parsed: _Parsed, key: str, digest: Digest, compressed: bytes) -> _SnapshotOut:
    cols, n = parsed.columns, parsed.n
    reason: pa.Array | None = None
    if parsed.pre_reason is not None:
        reason = pa.array(parsed.pre_reason, _INT8)
    plain_icao24 = _lower_hex6(cols["icao24"])
    for rule in HARD_RULES:
        if rule.check is None or (rule.code == "bad_icao24" and plain_icao24):
            continue
        mask = rule.check(cols)
        if not mask.true_count:
            continue
        code = pa.scalar(_CODE[rule.code], _INT8)
        if reason is None:
            reason = pc.if_else(mask, code, pa.scalar(0, _INT8))
        else:
            reason = pc.if_else(pc.and_(mask, pc.equal(reason, 0)), code, reason)

    icao = cols["icao24"] if plain_icao24 else pc.utf8_lower(cols["icao24"])
    if reason is None:
        order = pc.sort_indices(icao)  # stable: first occurrence first
    else:
        candidates = pc.indices_nonzero(pc.equal(reason, 0))
        order = pc.take(candidates, pc.sort_indices(pc.take(icao, candidates)))
    valid = _clean(cols, icao, order)
    duplicates: list[int] = []
    if len(order) > 1:
        ordered = valid["icao24"]
        repeat = pc.equal(ordered.slice(1), ordered.slice(0, len(ordered) - 1))
        if repeat.true_count:
            keep = pa.concat_arrays([pa.array([True]), pc.invert(repeat)])
            duplicates = pc.filter(order, pc.invert(keep)).to_pylist()
            order = pc.filter(order, keep)
            valid = {name: pc.filter(values, keep, memory_pool=_KEEP) for name, values in valid.items()}
    flagged = {}
    for rule in SOFT_RULES:
        assert rule.check is not None
        mask = rule.check(valid)
        valid[rule.flag_column] = mask
        flagged[rule.code] = mask.true_count
    valid["__row"] = pc.cast(order, pa.int32())
    batch = pa.RecordBatch.from_arrays([valid[name] for name in _VALID_SCHEMA.names], schema=_VALID_SCHEMA)

    quarantine: list[tuple[int, str, str, str]] = []
    codes: dict[int, int] = {}
    if reason is not None:
        bad = pc.indices_nonzero(pc.not_equal(reason, 0))
        codes = dict(zip(bad.to_pylist(), pc.take(reason, bad).to_pylist(), strict=True))
    codes.update(dict.fromkeys(duplicates, _DUPLICATE))
    if codes:
        rows = sorted(codes)
        picked = pa.table({f: pc.take(cols[f], pa.array(rows, pa.int64())) for f in _KEPT}).to_pylist()
        raw = parsed.raw_rows(rows)
        for i, row_index in enumerate(rows):
            rule = HARD_RULES[codes[row_index] - 1]
            detail = parsed.pre_detail.get(row_index) or _detail(rule, picked[i])
            quarantine.append((row_index, rule.code, detail, raw[i]))
    return _SnapshotOut(key, digest, parsed.time, n, batch, quarantine, flagged, parsed.slow, compressed)


@dataclass(frozen=True)
class _RejectedObject:
    """A raw object quarantined whole (OBJECT_REASONS), with the sentence that says why."""

    key: str
    time: int | None  # the body's own time when it was readable, else the time in the key's name
    reason: str
    detail: str


def _process(item: tuple[str, bytes]) -> _SnapshotOut | _RejectedObject:
    key, compressed = item
    try:
        body = _gunzip(key, compressed)
        digest = (len(body), _crc32(body))
        parsed = _parse_fast(body) or _parse_slow(key, body)
    except SnapshotError as exc:
        named = parse_raw_key(key)
        return _RejectedObject(key, named[0] if named else None, UNREADABLE_OBJECT, str(exc))
    return _validate(parsed, key, digest, compressed)


# --------------------------------------------------------------------------------------------------------------
# The hour


def _workers() -> int:
    """One thread more than cores: each thread spends part of a snapshot holding the GIL (the Python glue between
    Arrow calls), and the Parquet encoding runs beside them; measured 0.95 s vs 1.03 s for a global hour on 2 cores."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        cores = os.cpu_count() or 1
    return cores + 1


def _resolve_same_time(group: list[_SnapshotOut]) -> None:
    """Snapshots sharing one `time` (overlapping requests): keep the first (snapshot order = key order) state
    of each aircraft, move the later ones to quarantine. Rare; rows are re-read exactly for their raw text."""
    icao = pa.concat_arrays([o.valid.column("icao24") for o in group])
    rows_of = pa.concat_arrays([o.valid.column("__row") for o in group])
    owner = pa.concat_arrays(
        [pa.repeat(pa.scalar(i, pa.int32()), o.valid.num_rows) for i, o in enumerate(group)]
    )
    order = pc.sort_indices(icao)  # stable over (snapshot order, icao24 order)
    ordered = pc.take(icao, order)
    if len(ordered) < 2:
        return
    repeat = pc.equal(ordered.slice(1), ordered.slice(0, len(ordered) - 1))
    if not repeat.true_count:
        return
    drop = pc.take(order, pc.add(pc.indices_nonzero(repeat), 1))
    drop_owner = pc.take(owner, drop).to_pylist()
    drop_row = pc.take(rows_of, drop).to_pylist()
    drop_icao = pc.take(icao, drop).to_pylist()
    for i, out in enumerate(group):
        rows = sorted(r for o, r in zip(drop_owner, drop_row, strict=True) if o == i)
        if not rows:
            continue
        parsed = _parse_slow(out.key, _gunzip(out.key, out.compressed))
        raw = parsed.raw_rows(rows)
        icao_of = {r: c for o, r, c in zip(drop_owner, drop_row, drop_icao, strict=True) if o == i}
        out.quarantine.extend(
            (r, "duplicate_state", f"icao24={_compact(icao_of[r])}", raw[j]) for j, r in enumerate(rows)
        )
        out.quarantine.sort()
        keep = pc.invert(pc.is_in(out.valid["__row"], value_set=pa.array(rows, pa.int32())))
        kept = out.valid.filter(keep)
        for rule in SOFT_RULES:
            out.flagged[rule.code] = pc.sum(kept[rule.flag_column]).as_py() or 0
        out.valid = kept


@runtime_checkable
class KeyedSnapshots(Protocol):
    """Raw objects named up front and fetched while the build consumes them (lake.hourly_tables.RawObjects), so
    an hour holds a bounded window of gzip bodies instead of all of them."""

    @property
    def keys(self) -> Sequence[str]: ...

    def fetch(self, keys: Sequence[str]) -> Iterator[tuple[str, bytes]]:
        """(key, gzip body) of each key, in the order given."""
        ...


Snapshots = Iterable[tuple[str, bytes]] | KeyedSnapshots


def build_validated_hour(snapshots: Snapshots, *, workers: int | None = None,
                         hour_start: int | None = None) -> HourResult:
    """Validate one UTC hour of raw snapshots given as (raw object key, gzip-compressed body) pairs, or as
    KeyedSnapshots fetched while they are processed.

    Rows are never dropped: every state of every distinct snapshot ends up in `validated` or `quarantine`, and
    every unreadable object (or, with `hour_start`, every body whose own time is outside that hour) in the
    quarantine as one object-level row. Output is independent of the order of `snapshots` and of `workers`.
    """
    return _build(_Source.of(snapshots), workers, None, hour_start)


@dataclass(frozen=True)
class WrittenHour:
    result: HourResult
    validated_parquet: bytes  # the same bytes as write_parquet(result.validated)
    quarantine_parquet: bytes


def build_and_write_hour(snapshots: Snapshots, *, workers: int | None = None,
                         hour_start: int | None = None) -> WrittenHour:
    """build_validated_hour and write_parquet of both tables, with the validated file encoded while later
    snapshots are still being parsed: Parquet encoding (~0.35 s of one core for a global hour, GIL released)
    overlaps the parallel parse instead of following it."""
    sink = io.BytesIO()
    options = parquet_options(VALIDATED_SCHEMA)
    with pq.ParquetWriter(sink, VALIDATED_SCHEMA, memory_pool=_SCRATCH, **options) as writer:
        result = _build(_Source.of(snapshots), workers, writer, hour_start)
    return WrittenHour(result, sink.getvalue(), write_parquet(result.quarantine))


@dataclass(frozen=True)
class _Source:
    """The hour's inputs: every key up front, the (key, gzip body) pairs fetched in the order asked."""

    keys: list[str]
    fetch: Callable[[list[int]], Iterator[tuple[str, bytes]]]  # the items at these positions, in that order

    @staticmethod
    def of(snapshots: Snapshots) -> _Source:
        if isinstance(snapshots, KeyedSnapshots):
            keyed, keys = snapshots, list(snapshots.keys)
            return _Source(keys, lambda order: keyed.fetch([keys[i] for i in order]))
        items = list(snapshots)
        return _Source([key for key, _ in items], lambda order: (items[i] for i in order))


# Snapshots in flight beyond the consumer (which only assembles batches; row groups are encoded in a thread of
# their own): a few per worker keep the pool busy, and the hour's gzip bodies are read as they are needed.
_WINDOW = 8


def _processed_in_time_order(source: _Source, n_workers: int, sizes: list[int]
                             ) -> Iterator[_SnapshotOut | _RejectedObject]:
    """Every snapshot processed, in (time, key) order. Raw keys carry their time (`…/<time>_<sha8>.json.gz`), so
    snapshots are fetched and handed over in that order while the pool works on later ones (a bounded window of
    them in memory); other keys (tests, recordings) are ordered once all are processed. `sizes` gets the gzip
    size of each item as it is fetched."""
    keys = source.keys
    times = [parse_raw_key(key) for key in keys]
    streaming = all(times)
    order = list(range(len(keys)))
    if streaming:
        order.sort(key=lambda i: (times[i][0], keys[i]))  # type: ignore[index]

    def fetched() -> Iterator[tuple[str, bytes]]:
        for item in source.fetch(order):
            sizes.append(len(item[1]))
            yield item

    pool = ThreadPoolExecutor(max_workers=min(n_workers, len(keys))) if n_workers > 1 and len(keys) > 1 else None
    outs: Iterable[_SnapshotOut | _RejectedObject] = (
        windowed_map(pool, _process, fetched(), _WINDOW) if pool else map(_process, fetched()))
    try:
        yield from outs if streaming else sorted(outs, key=lambda o: (o.time or 0, o.key))
    finally:
        if pool is not None:
            pool.shutdown()


def _same_body(a: _SnapshotOut, b: _SnapshotOut) -> bool:
    """Byte-identical decompressed bodies: length and CRC-32 first (free), then the bodies themselves (rare)."""
    return a.digest == b.digest and _gunzip(a.key, a.compressed) == _gunzip(b.key, b.compressed)


def _kept_groups(outs: Iterable[_SnapshotOut]) -> Iterator[list[_SnapshotOut]]:
    """The snapshots of each `time`, in order: an exact duplicate of an earlier body is skipped (the smallest key
    is kept; identical bodies carry the same `time`, so only a group can hold one), and states repeated across
    same-time bodies move to quarantine."""
    group: list[_SnapshotOut] = []
    for out in outs:
        if group and out.time != group[0].time:
            yield _resolved(group)
            group = []
        if not any(_same_body(out, earlier) for earlier in group):
            group.append(out)
    if group:
        yield _resolved(group)


def _resolved(group: list[_SnapshotOut]) -> list[_SnapshotOut]:
    if len(group) > 1:
        _resolve_same_time(group)
    return group


class _RowGroups:
    """Hands validated rows to a Parquet writer in whole row groups of PAGE_ROWS, so the file has the same row
    groups (and bytes) as write_parquet of the finished table. Each row group is encoded in a thread of its own
    (in order, one at a time; the encoder releases the GIL) while the caller goes on handing out snapshots."""

    def __init__(self, writer: pq.ParquetWriter) -> None:
        self.writer = writer
        self.pending: list[pa.RecordBatch] = []
        self.rows = 0
        self.encoder = ThreadPoolExecutor(max_workers=1)
        self.encoding: Future[None] | None = None

    def _encode(self, table: pa.Table) -> None:
        if self.encoding is not None:
            self.encoding.result()
        self.encoding = self.encoder.submit(self.writer.write_table, table, row_group_size=PAGE_ROWS)

    def add(self, batch: pa.RecordBatch) -> None:
        self.pending.append(batch)
        self.rows += batch.num_rows
        if self.rows >= PAGE_ROWS:
            table = pa.Table.from_batches(self.pending, schema=VALIDATED_SCHEMA)
            whole = self.rows - self.rows % PAGE_ROWS
            self._encode(table.slice(0, whole))
            rest = table.slice(whole)
            self.pending, self.rows = rest.to_batches(), rest.num_rows

    def flush(self) -> None:
        """Start encoding what is left (stop() waits for it)."""
        if self.rows:
            self._encode(pa.Table.from_batches(self.pending, schema=VALIDATED_SCHEMA))
        self.pending, self.rows = [], 0

    def stop(self) -> None:
        """Wait for the row group being encoded, if any (the writer is closed next) and end the thread."""
        try:
            if self.encoding is not None:
                self.encoding.result()
        finally:
            self.encoding = None
            self.encoder.shutdown()


def _accepted(outs: Iterable[_SnapshotOut | _RejectedObject], hour_start: int | None,
              rejected: list[_RejectedObject]) -> Iterator[_SnapshotOut]:
    """The readable snapshots of the hour; unreadable ones and bodies dated outside the hour go to `rejected`."""
    for out in outs:
        if isinstance(out, _RejectedObject):
            rejected.append(out)
        elif hour_start is not None and not hour_start <= out.time < hour_start + 3600:
            when = datetime.fromtimestamp(out.time, tz=UTC)
            hour = datetime.fromtimestamp(hour_start, tz=UTC)
            rejected.append(_RejectedObject(
                out.key, out.time, WRONG_HOUR,
                f"{out.key}: the body's own time {out.time} ({when:%Y-%m-%d %H:%M:%S} UTC) is outside the hour "
                f"{hour:%Y-%m-%d %H:00} of its folder; its {out.rows:,} states belong to hour {when:%H:00}"))
        else:
            yield out


def _consumed(outs: Iterable[_SnapshotOut], row_groups: _RowGroups | None, index_of: dict[str, int],
              keys: pa.Array) -> tuple[list[_SnapshotOut], list[pa.RecordBatch]]:
    """The kept snapshots (their rows released as they go) and the validated batches, in order, also handed to
    `row_groups` as they come (the last row group is still being encoded on return)."""
    kept: list[_SnapshotOut] = []
    batches: list[pa.RecordBatch] = []
    for group in _kept_groups(outs):
        for out in group:
            valid = out.valid
            m = valid.num_rows
            arrays = {name: valid.column(name) for name in valid.schema.names}
            arrays["snapshot_time"] = pa.repeat(pa.scalar(out.time, _TS), m, memory_pool=_KEEP)
            arrays["source_key"] = pa.DictionaryArray.from_arrays(
                pa.repeat(pa.scalar(index_of[out.key], pa.int32()), m, memory_pool=_KEEP), keys
            )
            batch = pa.RecordBatch.from_arrays([arrays[f.name] for f in VALIDATED_SCHEMA], schema=VALIDATED_SCHEMA)
            batches.append(batch)
            if row_groups is not None:
                row_groups.add(batch)
            out.valid = None  # type: ignore[assignment]  # release as we go
            out.compressed = b""
            kept.append(out)
    if row_groups is not None:
        row_groups.flush()
    return kept, batches


def _build(source: _Source, workers: int | None, writer: pq.ParquetWriter | None,
           hour_start: int | None = None) -> HourResult:
    # Hand memory freed since the last hour back to the OS first: a long-lived process (a Dagster worker running
    # partition after partition, the benchmark) otherwise creeps up by ~20 MB per hour in allocator caches.
    _release_unused()
    n_items = len(source.keys)
    # source_key is dictionary-encoded over every key of the hour, sorted: known before any snapshot is parsed.
    key_names = sorted(set(source.keys))
    index_of = {key: i for i, key in enumerate(key_names)}
    keys = pa.array(key_names, pa.string())
    rejected: list[_RejectedObject] = []
    sizes: list[int] = []
    outs = _accepted(_processed_in_time_order(source, workers or _workers(), sizes), hour_start, rejected)
    row_groups = _RowGroups(writer) if writer is not None else None
    try:
        kept, batches = _consumed(outs, row_groups, index_of, keys)
        validated = pa.Table.from_batches(batches, schema=VALIDATED_SCHEMA)
        del batches
        # counted while the last row group is encoded
        distinct = {name: pc.count_distinct(validated[name]).as_py() if validated.num_rows else 0
                    for name in ("icao24", "origin_country")}
    finally:
        if row_groups is not None:
            row_groups.stop()
    duplicate_snapshots = n_items - len(kept) - len(rejected)
    rejected.sort(key=lambda r: r.key)

    q_time: list[int | None] = []
    q_key: list[str] = []
    q_row: list[int | None] = []
    q_reason: list[str] = []
    q_detail: list[str] = []
    q_raw: list[str | None] = []
    for out in kept:
        for row_index, reason, detail, raw in out.quarantine:
            q_time.append(out.time)
            q_key.append(out.key)
            q_row.append(row_index)
            q_reason.append(reason)
            q_detail.append(detail)
            q_raw.append(raw)
    rows_quarantined = len(q_reason)
    for obj in rejected:
        q_time.append(obj.time)
        q_key.append(obj.key)
        q_row.append(None)
        q_reason.append(obj.reason)
        q_detail.append(obj.detail)
        q_raw.append(None)
    quarantine = pa.Table.from_arrays(
        [pa.array(q_time, pa.int64()).cast(_TS), pa.array(q_key, pa.string()), pa.array(q_row, pa.int32()),
         pa.array(q_reason, pa.string()), pa.array(q_detail, pa.string()), pa.array(q_raw, pa.string())],
        schema=QUARANTINE_SCHEMA,
    )  # fmt: skip

    by_reason = dict.fromkeys((r.code for r in HARD_RULES), 0)
    for reason in q_reason[:rows_quarantined]:
        by_reason[reason] += 1
    by_object_reason = dict.fromkeys(OBJECT_REASONS, 0)
    for obj in rejected:
        by_object_reason[obj.reason] += 1
    flagged = {r.code: sum(o.flagged[r.code] for o in kept) for r in SOFT_RULES}
    rows_total = sum(o.rows for o in kept)
    stats = HourStats(
        rows_total=rows_total,
        rows_valid=validated.num_rows,
        rows_quarantined=rows_quarantined,
        quarantined_by_reason=by_reason,
        flagged=flagged,
        snapshots_read=n_items,
        duplicate_snapshots=duplicate_snapshots,
        snapshot_times=tuple(sorted({o.time for o in kept})),
        distinct_aircraft=distinct["icao24"],
        distinct_countries=distinct["origin_country"],
        bytes_in=sum(sizes),
        slow_path_snapshots=sum(o.slow for o in kept),
        objects_quarantined=by_object_reason,
        quarantined_object_keys=tuple(obj.key for obj in rejected),
    )
    if stats.rows_valid + stats.rows_quarantined != rows_total:  # pragma: no cover - an engine bug, not data
        raise AssertionError(f"rows lost: {rows_total} in, {stats.rows_valid} + {stats.rows_quarantined} out")
    _release_unused()  # the scratch of this hour, for whatever the process does next (checks, aggregates)
    return HourResult(validated, quarantine, stats)


def _release_unused() -> None:
    for pool in {id(p): p for p in (pa.default_memory_pool(), _SCRATCH, _KEEP)}.values():
        pool.release_unused()
