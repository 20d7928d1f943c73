"""The project's own OpenSky-compatible HTTP server: `/api/states/all`, OAuth2 tokens, credits, 429s, faults.

Used by tests, benchmarks and the offline demo (`flight-assets fake-opensky`). Standard library only.

Sources of state vectors:
- `--replay PATH...`: recorded responses (JSON files, folders, zip archives), one per request, in order,
  cycling. Unfiltered requests get the recorded bytes exactly; a box / `icao24` / `extended=1` filter or
  `--retime` re-serialises. A bare JSON array of rows is wrapped as
  `{"time": max(last_contact), "states": rows}`.
- `--simulate N` (default when nothing is given: 500 aircraft): a deterministic fleet (per `--seed`) moving
  by dead reckoning along great circles, with the oddities of the real feed (empty / blank / inner-space
  callsigns, null positions, stale positions, negative altitudes, FLARM rows, ints for floats, null squawks).

Auth and credits follow the real API: OAuth2 client credentials at the Keycloak token path, `Bearer` tokens
that expire (401), per-identity credit budgets from `flight_assets.opensky.credits`, `X-Rate-Limit-Remaining` on
success and 429 `Too many requests` with `X-Rate-Limit-Retry-After-Seconds` when a call costs more than
what is left.

Faults, one per `/api/states/all` request (FIFO), from `FakeOpenSky.enqueue(...)` or `POST /_control/faults`:
  {"status": 500|502|503}             HTML error page with that status (any 4xx/5xx; 429 = {"kind": "429"})
  {"kind": "truncate"}                 the normal JSON body cut in the middle, Content-Length matching the cut
  {"kind": "html"}                     200 with an HTML maintenance page
  {"kind": "reset"}                    the socket is closed without any response (RST)
  {"kind": "delay", "seconds": s}      sleep s seconds, then answer normally
  {"kind": "body", "body": "...", "status": 200, "content_type": "application/json"}   exactly this body
  {"kind": "429", "retry_after": 61200}   429 `Too many requests` (default retry-after: --retry-after)
  {"kind": "redirect"}                 302 to the same path and query (one redirect hop)
Random faults: `--error-rate` (503 HTML), `--truncate-rate`, `--html-rate`, seeded by `--seed`.

History: an authenticated request with `time=T` gets the state at T like OpenSky's: T rounded down to 5 s,
400 when older than an hour; the simulated fleet at T, or (replay) the newest body served with time <= T within
the last hour (404 when it served nothing that early). Anonymous requests ignore `time`.

Other endpoints: `GET /redirect/<path>?q` → 302 `/<path>?q`; `GET /_control/state`; `POST /_control/faults`
(JSON list or object); `DELETE /_control/faults`; `POST /_control/expire-tokens`.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import math
import os
import random
import re
import secrets
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
import traceback
import zlib
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flight_assets.config import TOKEN_PATH
from flight_assets.opensky.credits import (
    HISTORY_RESOLUTION_S,
    HISTORY_S,
    TIER_BUDGETS,
    TIERS,
    BBox,
    call_cost,
    parse_bbox,
)
from flight_assets.opensky.recorded import iter_recorded_bodies
from flight_assets.opensky.snapshot import FIELD_INDEX, SnapshotError, parse_snapshot

API_PREFIX = "/api"
STATES_PATH = "/api/states/all"
REDIRECT_PREFIX = "/redirect"
DEFAULT_SIMULATE = 500
ANONYMOUS = "anonymous"
FAULT_KINDS = ("status", "truncate", "html", "reset", "delay", "body", "429", "redirect")

JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"


# ---------------------------------------------------------------------------------------------- configuration


@dataclass
class FakeOpenSkyConfig:
    """Everything the server does; fields mirror the CLI options (`clock` is for tests only)."""

    host: str = "127.0.0.1"
    port: int = 0
    replay: list[str | Path] = field(default_factory=list)
    retime: bool = False
    loop: bool = True
    simulate: int | None = None
    seed: int = 0
    client_id: str | None = None
    client_secret: str | None = None
    token_ttl: int = 1800
    tier: str = "standard"
    credits: int | None = None
    retry_after: int = 3600
    latency_ms: float = 0.0
    error_rate: float = 0.0
    truncate_rate: float = 0.0
    html_rate: float = 0.0
    verbose: bool = False
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.replay = list(self.replay or [])
        if self.replay and self.simulate is not None:
            raise ValueError("choose either replay paths or --simulate N, not both")
        if self.simulate is not None and self.simulate < 0:
            raise ValueError(f"--simulate needs a number of aircraft >= 0, got {self.simulate}")
        if self.tier not in TIER_BUDGETS:
            raise ValueError(f"unknown tier {self.tier!r}; expected one of {', '.join(TIERS)}")
        if (self.client_id is None) != (self.client_secret is None):
            raise ValueError("give both a client id and a client secret, or neither")
        if self.token_ttl <= 0:
            raise ValueError(f"--token-ttl must be positive, got {self.token_ttl}")
        if self.credits is not None and self.credits < 0:
            raise ValueError(f"--credits must be >= 0, got {self.credits}")
        if self.retry_after < 0 or self.latency_ms < 0:
            raise ValueError("--retry-after and --latency-ms must be >= 0")
        rates = {
            "--error-rate": self.error_rate,
            "--truncate-rate": self.truncate_rate,
            "--html-rate": self.html_rate,
        }
        for name, rate in rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be a fraction between 0 and 1, got {rate}")
        if sum(rates.values()) > 1.0 + 1e-9:
            raise ValueError(f"the fault rates add up to more than 1: {sum(rates.values())}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `fake-opensky` command's options."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--replay",
        nargs="+",
        action="extend",
        metavar="PATH",
        default=None,
        help="recorded /states/all responses (JSON files, folders, zip archives), one per request in order",
    )
    source.add_argument(
        "--simulate",
        type=int,
        metavar="N",
        default=None,
        help=f"simulate N aircraft moving by dead reckoning (default when no --replay: {DEFAULT_SIMULATE})",
    )
    parser.add_argument(
        "--retime",
        action="store_true",
        help="shift each replayed body's time, time_position and last_contact so time = now",
    )
    parser.add_argument(
        "--no-loop",
        dest="loop",
        action="store_false",
        help="answer 404 once the replay is exhausted instead of cycling back to the first",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulated fleet and random faults")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=0, help="port to bind (default 0: an ephemeral port, printed)"
    )
    parser.add_argument(
        "--client-id",
        default=None,
        help="OAuth2 client id accepted by the token endpoint (env FAKE_OPENSKY_CLIENT_ID); "
        "without one, any non-empty id and secret get a token",
    )
    parser.add_argument("--client-secret", default=None, help="its secret (env FAKE_OPENSKY_CLIENT_SECRET)")
    parser.add_argument("--token-ttl", type=int, default=1800, help="access token lifetime in seconds (1800)")
    parser.add_argument(
        "--tier",
        choices=TIERS,
        default="standard",
        help="credit budget of authenticated clients (anonymous callers get the anonymous one)",
    )
    parser.add_argument(
        "--credits",
        type=int,
        default=None,
        metavar="N",
        help="initial credits of every identity, overriding the tier budgets",
    )
    parser.add_argument(
        "--retry-after", type=int, default=3600, help="X-Rate-Limit-Retry-After-Seconds sent with 429 (3600)"
    )
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every /states/all answer")
    parser.add_argument(
        "--error-rate", type=float, default=0.0, help="fraction answered 503 with an HTML page"
    )
    parser.add_argument(
        "--truncate-rate", type=float, default=0.0, help="fraction whose JSON body is cut short"
    )
    parser.add_argument(
        "--html-rate", type=float, default=0.0, help="fraction answered 200 with an HTML page"
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")


def config_from_args(args: argparse.Namespace) -> FakeOpenSkyConfig:
    """A config from parsed `add_arguments` options; client credentials default to FAKE_OPENSKY_* env."""

    def opt(name: str, default: Any = None) -> Any:
        return getattr(args, name, default)

    client_id = opt("client_id") or os.environ.get("FAKE_OPENSKY_CLIENT_ID") or None
    client_secret = opt("client_secret") or os.environ.get("FAKE_OPENSKY_CLIENT_SECRET") or None
    return FakeOpenSkyConfig(
        host=opt("host", "127.0.0.1"),
        port=opt("port", 0),
        replay=list(opt("replay") or []),
        retime=bool(opt("retime", False)),
        loop=bool(opt("loop", True)),
        simulate=opt("simulate"),
        seed=opt("seed", 0),
        client_id=client_id,
        client_secret=client_secret,
        token_ttl=opt("token_ttl", 1800),
        tier=opt("tier", "standard"),
        credits=opt("credits"),
        retry_after=opt("retry_after", 3600),
        latency_ms=opt("latency_ms", 0.0),
        error_rate=opt("error_rate", 0.0),
        truncate_rate=opt("truncate_rate", 0.0),
        html_rate=opt("html_rate", 0.0),
        verbose=bool(opt("verbose", False)),
    )


def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM/SIGINT; print the API URL line first. 0 on a clean stop, 2 on bad options."""
    try:
        server = FakeOpenSky(config_from_args(args))
        server.start()
    except (ValueError, OSError, SnapshotError) as exc:
        print(f"fake-opensky: {exc}", file=sys.stderr, flush=True)
        return 2
    stop = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous: dict[int, Any] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(ValueError):  # not the main thread: the caller stops us some other way
            previous[signum] = signal.signal(signum, _on_signal)
    try:
        print(f"fake-opensky listening on {server.api_url}", flush=True)
        if server.config.verbose:
            print(f"fake-opensky: serving {server.describe_source()}", file=sys.stderr, flush=True)
        while not stop.wait(0.2):
            pass
    finally:
        server.stop()  # shutdown() from this thread while serve_forever() runs in the server thread
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


# ----------------------------------------------------------------------------------------------------- faults


def normalize_fault(fault: Mapping[str, Any] | str) -> dict[str, Any]:
    """Check one scripted fault and return it in canonical form; ValueError with a sentence otherwise."""
    if isinstance(fault, str):
        fault = {"kind": fault}
    if not isinstance(fault, Mapping):
        raise ValueError(f"a fault is an object like {{'kind': 'reset'}} or {{'status': 503}}, got {fault!r}")
    try:
        return _normalize_fault(fault)
    except KeyError as exc:
        raise ValueError(f"fault {dict(fault)!r} lacks the field {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"fault {dict(fault)!r} is not valid: {exc}") from None


def _normalize_fault(fault: Mapping[str, Any]) -> dict[str, Any]:
    kind = fault.get("kind")
    if kind is None and "status" in fault:
        kind = "status"
    kind = str(kind)
    if kind == "status":
        status = int(fault["status"])
        if status == 429:
            return _normalize_fault({**fault, "kind": "429"})
        if not 400 <= status <= 599:
            raise ValueError(f"a status fault needs a 4xx or 5xx status, got {status}")
        return {"kind": "status", "status": status}
    if kind in ("truncate", "html", "reset", "redirect"):
        return {"kind": kind}
    if kind == "delay":
        seconds = float(fault.get("seconds", 0))
        if not 0 <= seconds <= 3600:
            raise ValueError(f"a delay fault needs 0 <= seconds <= 3600, got {seconds}")
        return {"kind": "delay", "seconds": seconds}
    if kind == "body":
        body = fault["body"]
        if not isinstance(body, str | bytes):
            raise TypeError(f"a body fault needs 'body' as text, got {type(body).__name__}")
        status = int(fault.get("status", 200))
        if not 100 <= status <= 599:
            raise ValueError(f"a body fault needs an HTTP status, got {status}")
        return {
            "kind": "body",
            "body": body,
            "status": status,
            "content_type": str(fault.get("content_type", JSON_TYPE)),
        }
    if kind == "429":
        retry_after = fault.get("retry_after")
        return {"kind": "429", "retry_after": None if retry_after is None else int(retry_after)}
    raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)} (or a 'status')")


# ---------------------------------------------------------------------------------------------------- replies


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    content_type: str = TEXT_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False


def _json_reply(status: int, doc: Any, headers: dict[str, str] | None = None) -> _Reply:
    return _Reply(status, json.dumps(doc).encode(), JSON_TYPE, headers or {})


def _text_reply(status: int, text: str, headers: dict[str, str] | None = None) -> _Reply:
    return _Reply(status, text.encode(), TEXT_TYPE, headers or {})


def _too_many_requests(retry_after: int) -> _Reply:
    return _Reply(
        429, b"Too many requests", TEXT_TYPE, {"X-Rate-Limit-Retry-After-Seconds": str(retry_after)}
    )


def _error_page(status: int) -> _Reply:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    page = (
        f"<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    return _Reply(status, page.encode(), HTML_TYPE)


_MAINTENANCE_PAGE = (
    b'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
    b"<title>OpenSky Network - Maintenance</title>\n</head>\n<body>\n"
    b"<h1>We'll be back soon!</h1>\n<p>The OpenSky Network API is undergoing scheduled maintenance. "
    b"Please try again later.</p>\n</body>\n</html>\n"
)


def _unauthorized(description: str) -> _Reply:
    return _text_reply(
        401,
        f"Unauthorized: {description}\n",
        {
            "WWW-Authenticate": f'Bearer realm="opensky-network", error="invalid_token", '
            f'error_description="{description}"'
        },
    )


# ------------------------------------------------------------------------------------------------ state rows

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


# ------------------------------------------------------------------------------------------------ replay


_TIME_HEAD = re.compile(rb'\s*\{\s*"time"\s*:\s*(\d+)\s*,')


class _Replay:
    """Recorded bodies served in order; parsed (and cached) only when a request needs re-serialising."""

    def __init__(self, paths: list[str | Path], loop: bool) -> None:
        self.bodies = list(iter_recorded_bodies(list(paths)))
        if not self.bodies:
            raise ValueError(f"no .json responses found in {', '.join(str(p) for p in paths)}")
        self.loop = loop
        self._cursor = 0
        self._parsed: dict[int, tuple[int, list[list[Any]], bool]] = {}
        self._parse_lock = threading.Lock()

    def next_index(self) -> int | None:
        """The next body to serve (caller holds the server lock); None when exhausted and not looping."""
        if self._cursor >= len(self.bodies):
            if not self.loop:
                return None
            self._cursor = 0
        index = self._cursor
        self._cursor += 1
        return index

    def time_of(self, index: int) -> int:
        """The body's own `time` (bare arrays: max last_contact); read from the head when it leads the body, so
        serving a recorded global body byte-exact does not parse it."""
        head = _TIME_HEAD.match(self.bodies[index][1])
        return int(head[1]) if head else self.parsed(index)[0]

    def is_bare_array(self, index: int) -> bool:
        return self.bodies[index][1].lstrip()[:1] == b"["

    def parsed(self, index: int) -> tuple[int, list[list[Any]]]:
        with self._parse_lock:
            cached = self._parsed.get(index)
        if cached is None:
            name, body = self.bodies[index]
            try:
                snapshot = parse_snapshot(body, allow_bare_array=True)
            except SnapshotError as exc:
                raise SnapshotError(f"recorded response {name} cannot be re-served: {exc}") from None
            doc = json.loads(body)
            rows = doc if isinstance(doc, list) else (doc.get("states") or [])
            cached = (snapshot.time, rows, isinstance(doc, list))
            with self._parse_lock:
                self._parsed[index] = cached
        return cached[0], cached[1]


# ------------------------------------------------------------------------------------------------ simulation

_EARTH_RADIUS_M = 6_371_000.0
_FT = 0.3048
_ALT_STEP_M = 25 * _FT  # ADS-B altitude resolution: 25 ft
_VRATE_STEP = 64 * _FT / 60  # 64 ft/min

# name, weight, ICAO address block (start, size), region (lat, lon, lat sd, lon sd), airline prefixes,
# general-aviation registration (prefix, length, "L" letters / "D" digits)
_COUNTRIES: tuple[
    tuple[
        str, int, tuple[int, int], tuple[float, float, float, float], tuple[str, ...], tuple[str, int, str]
    ],
    ...,
] = (
    (
        "United States",
        560,
        (0xA00001, 0xDF7C7),
        (38.0, -97.0, 9.0, 20.0),
        (
            "UAL",
            "DAL",
            "SWA",
            "AAL",
            "SKW",
            "ASA",
            "JBU",
            "RPA",
            "EJA",
            "NKS",
            "FFT",
            "EDV",
            "ENY",
            "FDX",
            "UPS",
        ),
        ("N", 0, "N"),
    ),
    (
        "Canada",
        44,
        (0xC00000, 0x40000),
        (49.0, -95.0, 5.0, 25.0),
        ("ACA", "JZA", "WJA", "TSC", "POE"),
        ("CF", 3, "L"),
    ),
    (
        "United Kingdom",
        40,
        (0x400000, 0x40000),
        (52.5, -1.5, 4.0, 8.0),
        ("BAW", "EZY", "VIR", "TOM", "EXS"),
        ("G", 4, "L"),
    ),
    ("Ireland", 30, (0x4CA000, 0x1000), (47.0, 5.0, 8.0, 14.0), ("RYR", "EIN", "ISR"), ("EI", 3, "L")),
    ("Turkey", 25, (0x4B8000, 0x8000), (39.0, 32.0, 5.0, 12.0), ("THY", "PGT", "AJT", "SXS"), ("TC", 3, "L")),
    (
        "Germany",
        25,
        (0x3C0000, 0x40000),
        (50.5, 10.0, 4.0, 8.0),
        ("DLH", "EWG", "CFG", "BCS", "DLA"),
        ("D", 4, "L"),
    ),
    (
        "Spain",
        18,
        (0x340000, 0x40000),
        (40.0, -3.5, 5.0, 8.0),
        ("IBE", "VLG", "AEA", "IBS", "ANE"),
        ("EC", 3, "L"),
    ),
    ("Malta", 17, (0x4D2000, 0x400), (45.0, 10.0, 8.0, 14.0), ("RYR", "AMC", "MAY"), ("9H", 3, "L")),
    ("France", 16, (0x380000, 0x40000), (46.5, 2.5, 4.0, 6.0), ("AFR", "TVF", "HOP", "FBU"), ("F", 4, "L")),
    ("Austria", 12, (0x440000, 0x8000), (47.5, 13.0, 6.0, 12.0), ("AUA", "EJU", "LDM"), ("OE", 3, "L")),
    (
        "China",
        12,
        (0x780000, 0x40000),
        (31.0, 113.0, 7.0, 10.0),
        ("CCA", "CES", "CSN", "CHH", "CXA"),
        ("B", 4, "D"),
    ),
    ("Brazil", 11, (0xE40000, 0x40000), (-16.0, -47.0, 7.0, 7.0), ("GLO", "TAM", "AZU"), ("PR", 3, "L")),
    ("Poland", 11, (0x488000, 0x8000), (51.0, 19.0, 6.0, 12.0), ("LOT", "ENT", "LLP"), ("SP", 3, "L")),
    ("India", 10, (0x800000, 0x40000), (22.0, 79.0, 6.0, 6.0), ("AIC", "IGO", "AKJ", "SEJ"), ("VT", 3, "L")),
    (
        "United Arab Emirates",
        10,
        (0x896000, 0x1000),
        (25.0, 55.0, 12.0, 25.0),
        ("UAE", "ETD", "FDB"),
        ("A6", 3, "L"),
    ),
    ("Mexico", 8, (0x0D0000, 0x8000), (22.0, -101.0, 5.0, 7.0), ("AMX", "VOI", "VIV"), ("XA", 3, "L")),
    (
        "Kingdom of the Netherlands",
        8,
        (0x480000, 0x8000),
        (51.0, 5.0, 8.0, 14.0),
        ("KLM", "TRA", "KLC"),
        ("PH", 3, "L"),
    ),
    ("Switzerland", 7, (0x4B0000, 0x8000), (47.0, 8.0, 6.0, 12.0), ("SWR", "EZS", "EDW"), ("HB", 3, "L")),
    ("Sweden", 7, (0x4A8000, 0x8000), (60.0, 16.0, 5.0, 8.0), ("SAS", "NSZ", "SCW"), ("SE", 3, "L")),
    ("Qatar", 7, (0x06A000, 0x400), (26.0, 52.0, 14.0, 30.0), ("QTR",), ("A7", 3, "L")),
    (
        "Republic of Korea",
        6,
        (0x718000, 0x8000),
        (36.5, 127.5, 4.0, 6.0),
        ("KAL", "AAR", "JJA", "TWB"),
        ("HL", 4, "D"),
    ),
    ("Portugal", 5, (0x490000, 0x8000), (39.5, -8.5, 5.0, 8.0), ("TAP", "SAT"), ("CS", 3, "L")),
    (
        "Russian Federation",
        5,
        (0x100000, 0x100000),
        (55.0, 45.0, 6.0, 20.0),
        ("AFL", "SDM", "SBI"),
        ("RA", 5, "D"),
    ),
    ("Greece", 5, (0x468000, 0x8000), (38.5, 23.0, 3.0, 5.0), ("AEE", "OAW"), ("SX", 3, "L")),
    ("Japan", 4, (0x840000, 0x40000), (36.0, 138.0, 4.0, 6.0), ("JAL", "ANA", "SKY"), ("JA", 4, "D")),
    ("Singapore", 4, (0x768000, 0x8000), (5.0, 105.0, 10.0, 15.0), ("SIA", "TGW"), ("9V", 3, "L")),
    ("Norway", 4, (0x478000, 0x8000), (61.0, 9.0, 5.0, 8.0), ("NOZ", "SAS", "WIF"), ("LN", 3, "L")),
    ("Italy", 4, (0x300000, 0x40000), (42.5, 12.5, 4.0, 5.0), ("ITY", "NOS"), ("I", 4, "L")),
    ("Australia", 4, (0x7C0000, 0x40000), (-28.0, 140.0, 8.0, 12.0), ("QFA", "VOZ", "JST"), ("VH", 3, "L")),
    ("Egypt", 4, (0x010000, 0x8000), (28.0, 31.0, 5.0, 8.0), ("MSR", "NIA"), ("SU", 3, "L")),
)
_COUNTRY_WEIGHTS = [entry[1] for entry in _COUNTRIES]
_SPECIAL_CALLSIGNS = ("FLW ME 1", "TOW 902 ", "WORKS 79", "OR 5069 ", "SAR 1   ", "GND 12  ")
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _num(value: float, ndigits: int) -> float | int:
    """Round like the API and emit integral values as JSON ints (12192, 0), as the real feed does."""
    rounded = round(value, ndigits)
    return int(rounded) if rounded == int(rounded) else rounded


def _quantize(value: float, step: float) -> float | int:
    return _num(round(value / step) * step, 2)


@dataclass
class _Aircraft:
    icao24: str
    callsign: str
    country: str
    start: tuple[float, float, float]  # unit vector of the position at the fleet's epoch
    heading: tuple[float, float, float]  # unit tangent vector of the great circle at that point
    speed: float  # m/s along the great circle
    reported_speed: float | int
    baro0: float | None
    geo_offset: float | None
    vertical_rate: float  # m/s
    alt_bounds: tuple[float, float]
    on_ground: bool
    squawk: str | None
    spi: bool
    source: int
    flarm: bool
    null_position: bool
    contact_lag: int
    position_lag: int


def _unit_vector(lat_deg: float, lon_deg: float) -> tuple[float, float, float]:
    lat, lon = math.radians(lat_deg), math.radians(lon_deg)
    return (math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat))


def _east_north(lat: float, lon: float) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    east = (-math.sin(lon), math.cos(lon), 0.0)
    north = (-math.sin(lat) * math.cos(lon), -math.sin(lat) * math.sin(lon), math.cos(lat))
    return east, north


class SimulatedTraffic:
    """The simulator outside the server: bodies for any time, e.g. the demo's history of past hours."""

    def __init__(self, count: int, seed: int = 0, epoch: float | None = None) -> None:
        self._fleet = _Fleet(count, seed, time.time() if epoch is None else epoch)

    def body(self, at: int) -> bytes:
        """The `/states/all` body the server would answer at Unix time `at`."""
        return _dump(at, self._fleet.rows(at))


class _Fleet:
    """N aircraft, generated once from the seed; their rows are a pure function of (seed, epoch, time)."""

    def __init__(self, count: int, seed: int, epoch: float) -> None:
        self.epoch = epoch
        rng = random.Random(seed)
        used: set[str] = set()
        self.aircraft = [self._make(rng, used) for _ in range(count)]

    @staticmethod
    def _icao(rng: random.Random, used: set[str], block: tuple[int, int]) -> str:
        while True:
            icao = f"{block[0] + rng.randrange(block[1]):06x}"
            if icao not in used:
                used.add(icao)
                return icao

    @staticmethod
    def _callsign(rng: random.Random, airlines: tuple[str, ...], registration: tuple[str, int, str]) -> str:
        roll = rng.random()
        if roll < 0.05:
            return ""
        if roll < 0.055:
            return " " * 8
        if roll < 0.058:
            return rng.choice(_SPECIAL_CALLSIGNS)
        if roll < 0.85:
            text = rng.choice(airlines) + str(rng.randint(1, 9999))
            if rng.random() < 0.12 and len(text) <= 6:
                text = text[:5] + rng.choice(_LETTERS) + rng.choice(_LETTERS)
        else:
            prefix, length, kind = registration
            if kind == "N":  # US N-number: N + 1-5 digits, maybe 1-2 letters
                text = "N" + str(rng.randint(1, 99999 if rng.random() < 0.5 else 999))
                if len(text) <= 4:
                    text += "".join(rng.choice(_LETTERS) for _ in range(rng.randint(0, 2)))
            else:
                alphabet = _LETTERS if kind == "L" else "0123456789"
                text = prefix + "".join(rng.choice(alphabet) for _ in range(length))
        return text[:8].ljust(8)

    def _make(self, rng: random.Random, used: set[str]) -> _Aircraft:
        flarm = rng.random() < 0.012
        name, _, block, region, airlines, registration = rng.choices(_COUNTRIES, weights=_COUNTRY_WEIGHTS)[0]
        lat0, lon0, lat_sd, lon_sd = region
        lat = max(-84.0, min(84.0, rng.gauss(lat0, lat_sd)))
        lon = (rng.gauss(lon0, lon_sd) + 180.0) % 360.0 - 180.0
        on_ground = not flarm and rng.random() < 0.07
        if flarm:
            icao = self._icao(rng, used, (0xDD0000, 0x20000))
            country, source = "", 3
            callsign = "" if rng.random() < 0.5 else self._callsign(rng, ("FLR",), registration)
        else:
            icao = self._icao(rng, used, block)
            country = name
            source = 2 if rng.random() < 0.01 else (1 if rng.random() < 0.002 else 0)
            callsign = self._callsign(rng, airlines, registration)
        if on_ground:
            bearing = (
                float(rng.choice((0, 45, 90, 135, 180, 225, 270, 315)))
                if rng.random() < 0.4
                else rng.uniform(0, 360)
            )
            speed = 0.0 if rng.random() < 0.5 else rng.uniform(0.5, 12.0)
            baro0 = rng.choice((None,) * 30 + (rng.uniform(0, 300), 37795.2))
            geo_offset, vertical_rate, bounds = None, 0.0, (-1000.0, 50000.0)
        elif flarm:
            bearing = rng.uniform(0, 360)
            speed = rng.uniform(18.0, 60.0)
            baro0 = rng.uniform(300.0, 3000.0)
            geo_offset = rng.gauss(60.0, 30.0)
            vertical_rate = rng.choice((-1, 1)) * rng.randint(0, 12) * _VRATE_STEP
            bounds = (150.0, 4000.0)
        else:
            bearing = rng.uniform(0, 360)
            phase = rng.random()
            if phase < 0.7:  # cruise at a flight level
                baro0 = (
                    rng.randint(24, 41) * 1000 * _FT
                    if rng.random() < 0.8
                    else rng.randint(100, 410) * 100 * _FT
                )
                vertical_rate = (
                    0.0 if rng.random() < 0.8 else rng.choice((-1, 1)) * rng.randint(1, 4) * _VRATE_STEP
                )
                speed = rng.uniform(190.0, 275.0)
            else:  # climbing or descending
                baro0 = rng.uniform(300.0, 9000.0)
                vertical_rate = rng.choice((-1, 1)) * rng.randint(4, 60) * _VRATE_STEP
                speed = rng.uniform(70.0, 210.0)
            bounds = (150.0, 12500.0)
            geo_offset = rng.gauss(250.0, 150.0)
            if rng.random() < 0.002:  # the feed's negative altitudes
                baro0, geo_offset, vertical_rate, bounds = -114.3, -600.0, 0.0, (-800.0, 0.0)
        reported_speed = _num(speed, 2)
        if not on_ground and rng.random() < 0.001:  # the feed's absurd speeds (962, 2320 m/s)
            reported_speed = rng.choice((962.18, 2320.4))
        start = _unit_vector(lat, lon)
        east, north = _east_north(math.radians(lat), math.radians(lon))
        b = math.radians(bearing)
        heading = tuple(math.cos(b) * n + math.sin(b) * e for n, e in zip(north, east, strict=True))
        lag_roll = rng.random()
        contact_lag = (
            0 if lag_roll < 0.7 else (rng.randint(1, 19) if lag_roll < 0.86 else rng.randint(20, 290))
        )
        position_roll = rng.random()
        position_lag = (
            0
            if position_roll < 0.9
            else (rng.randint(1, 10) if position_roll < 0.98 else rng.randint(60, 900))
        )
        squawk = (
            None
            if flarm or rng.random() < 0.48
            else rng.choice(
                (
                    "1000",
                    "2000",
                    "7000",
                    "1200",
                    f"{rng.randrange(8)}{rng.randrange(8)}{rng.randrange(8)}{rng.randrange(8)}",
                )
            )
        )
        return _Aircraft(
            icao24=icao,
            callsign=callsign,
            country=country,
            start=start,
            heading=heading,  # type: ignore[arg-type]
            speed=speed,
            reported_speed=reported_speed,
            baro0=baro0,
            geo_offset=geo_offset,
            vertical_rate=vertical_rate,
            alt_bounds=bounds,
            on_ground=on_ground,
            squawk=squawk,
            spi=rng.random() < 0.005,
            source=source,
            flarm=flarm,
            null_position=rng.random() < 0.007,
            contact_lag=contact_lag,
            position_lag=position_lag,
        )

    def rows(self, now: int) -> list[list[Any]]:
        return [self._row(aircraft, now) for aircraft in self.aircraft]

    def _row(self, ac: _Aircraft, now: int) -> list[Any]:
        last_contact = now - ac.contact_lag
        time_position = last_contact - ac.position_lag
        elapsed = time_position - self.epoch
        delta = ac.speed * elapsed / _EARTH_RADIUS_M
        c, s = math.cos(delta), math.sin(delta)
        point = [c * a + s * d for a, d in zip(ac.start, ac.heading, strict=True)]
        velocity = [-s * a + c * d for a, d in zip(ac.start, ac.heading, strict=True)]
        lat = math.asin(max(-1.0, min(1.0, point[2])))
        lon = math.atan2(point[1], point[0])
        east, north = _east_north(lat, lon)
        track = (
            math.degrees(
                math.atan2(
                    sum(v * e for v, e in zip(velocity, east, strict=True)),
                    sum(v * n for v, n in zip(velocity, north, strict=True)),
                )
            )
            % 360.0
        )
        if ac.flarm and track > 180.0:
            track -= 360.0  # FLARM rows carry signed tracks
        baro: float | int | None = None
        geo: float | int | None = None
        vertical_rate: float | int | None = None
        if not ac.on_ground:
            altitude = (ac.baro0 or 0.0) + ac.vertical_rate * elapsed
            low, high = ac.alt_bounds
            clamped = min(high, max(low, altitude))
            vertical_rate = _num(0.0 if clamped != altitude else ac.vertical_rate, 2)
            baro = _quantize(clamped, _ALT_STEP_M)
            geo = _quantize(clamped + (ac.geo_offset or 0.0), _ALT_STEP_M)
        elif ac.baro0 is not None:
            baro = _quantize(ac.baro0, _ALT_STEP_M)
        if ac.null_position:
            return [
                ac.icao24,
                ac.callsign,
                ac.country,
                None,
                last_contact,
                None,
                None,
                None,
                ac.on_ground,
                ac.reported_speed,
                _num(track, 2),
                vertical_rate,
                None,
                None,
                ac.squawk,
                ac.spi,
                ac.source,
            ]
        return [
            ac.icao24,
            ac.callsign,
            ac.country,
            time_position,
            last_contact,
            _num(math.degrees(lon), 4),
            _num(math.degrees(lat), 4),
            baro,
            ac.on_ground,
            ac.reported_speed,
            _num(track, 2),
            vertical_rate,
            None,
            geo,
            ac.squawk,
            ac.spi,
            ac.source,
        ]


# ------------------------------------------------------------------------------------------------ the server


class FakeOpenSky:
    """An OpenSky-compatible server on loopback; `start()` serves from a daemon thread, `stop()` ends it."""

    def __init__(self, config: FakeOpenSkyConfig | None = None) -> None:
        self.config = config if config is not None else FakeOpenSkyConfig()
        self._clock = self.config.clock
        self._lock = threading.Lock()
        self._replay = _Replay(self.config.replay, self.config.loop) if self.config.replay else None
        count = self.config.simulate
        if count is None and self._replay is None:
            count = DEFAULT_SIMULATE
        self._fleet = _Fleet(count, self.config.seed, self._clock()) if count is not None else None
        self._fault_rng = random.Random(self.config.seed)
        self._faults: deque[dict[str, Any]] = deque()
        self._tokens: dict[str, tuple[str, float]] = {}
        self._credits: dict[str, int] = {}
        self._requests_served = 0
        self._served: deque[tuple[int, int, int, int]] = deque()  # replay: (body time, index, shift, served at)
        self._history_requests: deque[int] = deque(maxlen=100_000)  # bounded: the demo server runs for days
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> FakeOpenSky:
        if self._server is not None:
            return self
        self._server = _Server((self.config.host, self.config.port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="fake-opensky", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:  # keep-alive clients must not be served by a stopped server
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeOpenSky:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fake OpenSky server is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        host = self.config.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    def describe_source(self) -> str:
        if self._replay is not None:
            return (
                f"{len(self._replay.bodies)} recorded response(s)"
                f"{', re-timed' if self.config.retime else ''}{', cycling' if self._replay.loop else ''}"
            )
        assert self._fleet is not None
        return f"{len(self._fleet.aircraft)} simulated aircraft (seed {self.config.seed})"

    # -- test helpers

    def enqueue(self, *faults: Mapping[str, Any] | str) -> None:
        """Script faults, consumed one per /api/states/all request in FIFO order (checked before queueing)."""
        checked = [normalize_fault(fault) for fault in faults]
        with self._lock:
            self._faults.extend(checked)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def faults_pending(self) -> int:
        with self._lock:
            return len(self._faults)

    @property
    def requests_served(self) -> int:
        with self._lock:
            return self._requests_served

    def credits_remaining(self, client_id: str | None = None) -> int:
        identity = client_id or ANONYMOUS
        with self._lock:
            return self._credits.get(identity, self._initial_credits(identity))

    def expire_tokens(self) -> int:
        """Make every token issued so far expired (the next request with one gets 401); returns how many."""
        with self._lock:
            for token, (client, _) in self._tokens.items():
                self._tokens[token] = (client, -math.inf)
            return len(self._tokens)

    def state(self) -> dict[str, Any]:
        with self._lock:
            credits = {ANONYMOUS: self._initial_credits(ANONYMOUS)}
            if self.config.client_id:
                credits[self.config.client_id] = self._initial_credits(self.config.client_id)
            credits.update(self._credits)
            return {
                "requests_served": self._requests_served,
                "credits": credits,
                "faults_pending": len(self._faults),
                "history_requests": len(self._history_requests),
            }

    # -- internals

    def _initial_credits(self, identity: str) -> int:
        if self.config.credits is not None:
            return self.config.credits
        return TIER_BUDGETS[ANONYMOUS if identity == ANONYMOUS else self.config.tier][0]

    def _track(self, connection: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _random_fault(self) -> dict[str, Any] | None:
        cfg = self.config
        if not (cfg.error_rate or cfg.truncate_rate or cfg.html_rate):
            return None
        roll = self._fault_rng.random()
        if roll < cfg.error_rate:
            return {"kind": "status", "status": 503}
        if roll < cfg.error_rate + cfg.truncate_rate:
            return {"kind": "truncate"}
        if roll < cfg.error_rate + cfg.truncate_rate + cfg.html_rate:
            return {"kind": "html"}
        return None

    def _fault_reply(self, fault: dict[str, Any], target: str) -> _Reply:
        kind = fault["kind"]
        if kind == "status":
            return _error_page(fault["status"])
        if kind == "html":
            return _Reply(200, _MAINTENANCE_PAGE, HTML_TYPE)
        if kind == "reset":
            return _Reply(0, reset=True)
        if kind == "body":
            body = fault["body"]
            return _Reply(
                fault["status"], body if isinstance(body, bytes) else body.encode(), fault["content_type"]
            )
        if kind == "429":
            retry_after = fault["retry_after"]
            return _too_many_requests(self.config.retry_after if retry_after is None else retry_after)
        if kind == "redirect":
            return _Reply(302, b"Found", TEXT_TYPE, {"Location": target})
        raise AssertionError(f"unhandled fault {fault!r}")

    def _identify(self, authorization: str | None) -> tuple[str, _Reply | None]:
        if not authorization or not authorization.strip():
            return ANONYMOUS, None
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            return ANONYMOUS, _unauthorized(
                f"{scheme} authentication is not supported; use an OAuth2 client-credentials Bearer token"
            )
        with self._lock:
            entry = self._tokens.get(credentials.strip())
        if entry is None:
            return ANONYMOUS, _unauthorized("unknown access token")
        client, expires_at = entry
        if self._clock() >= expires_at:
            return ANONYMOUS, _unauthorized("access token expired")
        return client, None

    def handle_states(self, target: str, authorization: str | None) -> _Reply:
        query = urlsplit(target).query
        with self._lock:
            self._requests_served += 1
            fault = self._faults.popleft() if self._faults else self._random_fault()
        if self.config.latency_ms:
            time.sleep(self.config.latency_ms / 1000.0)
        kind = fault["kind"] if fault else None
        if kind == "delay":
            time.sleep(fault["seconds"])  # type: ignore[index]
        elif fault is not None and kind != "truncate":
            return self._fault_reply(fault, target)
        identity, refusal = self._identify(authorization)
        if refusal is not None:
            return refusal
        try:
            bbox, icaos, extended = _parse_states_query(query)
            # Like OpenSky: `time` is for users only (anonymous calls get the newest state), within the last hour.
            at = _history_time(query, self._clock()) if identity != ANONYMOUS else None
        except ValueError as exc:
            return _text_reply(400, f"Bad request: {exc}\n")
        cost = call_cost(bbox)
        index: int | None = None
        with self._lock:
            remaining = self._credits.get(identity, self._initial_credits(identity))
            if remaining < cost:
                return _too_many_requests(self.config.retry_after)
            if at is not None:
                self._history_requests.append(at)
                if self._replay is not None and not any(entry[0] <= at for entry in self._served):
                    # A replay has no history before what it served: say so rather than invent an empty sky.
                    return _text_reply(404, f"No state vectors at time={at}: nothing was served at or before it "
                                            "within the last hour\n")
            elif self._replay is not None:
                index = self._replay.next_index()
                if index is None:
                    return _text_reply(
                        404,
                        f"Replay exhausted: all {len(self._replay.bodies)} recorded responses "
                        "were served and looping is off (--no-loop)\n",
                    )
            remaining -= cost
            self._credits[identity] = remaining
        try:
            if at is not None:
                body = self._history_body(at, bbox, icaos, extended)
            else:
                body = self._states_body(index, bbox, icaos, extended)
        except SnapshotError as exc:
            with self._lock:
                self._credits[identity] += cost
            return _text_reply(500, f"{exc}\n")
        if kind == "truncate":
            body = body[: max(1, len(body) // 2)]
        return _Reply(200, body, JSON_TYPE, {"X-Rate-Limit-Remaining": str(remaining)})

    def _states_body(
        self, index: int | None, bbox: BBox | None, icaos: set[str] | None, extended: bool
    ) -> bytes:
        now = int(self._clock())
        if self._replay is None:
            assert self._fleet is not None
            return _dump(now, _select_rows(self._fleet.rows(now), bbox, icaos, extended))
        assert index is not None
        shift = now - self._replay.time_of(index) if self.config.retime else 0
        with self._lock:
            # What was served, so that `time=` can answer it again within the hour.
            self._served.append((self._replay.time_of(index) + shift, index, shift, now))
            while self._served and self._served[0][3] < now - HISTORY_S:
                self._served.popleft()
        return self._replay_body(index, shift, bbox, icaos, extended)

    def _replay_body(
        self, index: int, shift: int, bbox: BBox | None, icaos: set[str] | None, extended: bool
    ) -> bytes:
        assert self._replay is not None
        filtered = bbox is not None or icaos is not None or extended
        if not filtered and not shift and not self._replay.is_bare_array(index):
            return self._replay.bodies[index][1]  # byte-exact
        snapshot_time, rows = self._replay.parsed(index)
        return _dump(snapshot_time + shift, _select_rows(rows, bbox, icaos, extended, shift))

    def _history_body(self, at: int, bbox: BBox | None, icaos: set[str] | None, extended: bool) -> bytes:
        """The state at `at`: the simulated fleet then, or the newest replayed body served with time <= at."""
        if self._replay is None:
            assert self._fleet is not None
            return _dump(at, _select_rows(self._fleet.rows(at), bbox, icaos, extended))
        with self._lock:
            earlier = [entry for entry in self._served if entry[0] <= at]
        _, index, shift, _ = max(earlier, key=lambda entry: (entry[0], entry[3]))
        return self._replay_body(index, shift, bbox, icaos, extended)

    @property
    def history_requests(self) -> list[int]:
        """The (rounded) `time=` of every history request answered so far, in order (for tests)."""
        with self._lock:
            return list(self._history_requests)

    def handle_token(self, body: bytes, authorization: str | None) -> _Reply:
        form = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)

        def value(name: str) -> str | None:
            return form.get(name, [None])[0]

        client_id, client_secret = value("client_id"), value("client_secret")
        if authorization and authorization.strip().lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization.strip()[6:]).decode("utf-8")
                client_id, _, client_secret = decoded.partition(":")
            except (ValueError, UnicodeDecodeError):
                pass
        grant_type = value("grant_type")
        if grant_type is None:
            return _json_reply(
                400, {"error": "invalid_request", "error_description": "Missing form parameter: grant_type"}
            )
        if grant_type != "client_credentials":
            return _json_reply(
                400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant_type"}
            )
        if not self._client_ok(client_id, client_secret):
            return _json_reply(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "Invalid client or Invalid client credentials",
                },
            )
        assert client_id is not None
        now = self._clock()
        ttl = int(self.config.token_ttl)
        token = self._new_token(client_id, now, ttl)
        with self._lock:
            self._tokens[token] = (client_id, now + ttl)
        return _json_reply(
            200,
            {
                "access_token": token,
                "expires_in": ttl,
                "refresh_expires_in": 0,
                "token_type": "Bearer",
                "not-before-policy": 0,
                "scope": "profile email",
            },
        )

    def _client_ok(self, client_id: str | None, client_secret: str | None) -> bool:
        if not client_id or not client_secret:
            return False
        if self.config.client_id is None:
            return True  # no credentials configured: any client may obtain a token
        return secrets.compare_digest(
            client_id.encode(), self.config.client_id.encode()
        ) and secrets.compare_digest(client_secret.encode(), str(self.config.client_secret).encode())

    def _new_token(self, client_id: str, now: float, ttl: int) -> str:
        """A JWT-shaped opaque token (clients may read `exp`; nobody can verify the signature)."""

        def part(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        header = {"alg": "RS256", "typ": "JWT", "kid": "fake-opensky"}
        claims = {
            "exp": int(now + ttl),
            "iat": int(now),
            "jti": secrets.token_hex(8),
            "iss": f"{self.base_url}/auth/realms/opensky-network",
            "typ": "Bearer",
            "azp": client_id,
            "clientId": client_id,
            "scope": "profile email",
        }
        return ".".join(
            (
                part(json.dumps(header).encode()),
                part(json.dumps(claims).encode()),
                part(secrets.token_bytes(32)),
            )
        )

    def handle_control(self, method: str, path: str, body: bytes) -> _Reply:
        if path == "/_control/state" and method == "GET":
            return _json_reply(200, self.state())
        if path == "/_control/faults" and method == "POST":
            try:
                doc = json.loads(body or b"[]")
                self.enqueue(*(doc if isinstance(doc, list) else [doc]))
            except ValueError as exc:
                return _text_reply(400, f"Bad request: {exc}\n")
            return _json_reply(200, {"faults_pending": self.faults_pending})
        if path == "/_control/faults" and method == "DELETE":
            self.clear_faults()
            return _json_reply(200, {"faults_pending": 0})
        if path == "/_control/expire-tokens" and method == "POST":
            return _json_reply(200, {"expired": self.expire_tokens()})
        return _text_reply(404, f"Not Found: {method} {path}\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: FakeOpenSky) -> None:
        self.app = app
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # skip HTTPServer's getfqdn(): a DNS lookup on every start
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError) and not self.app.config.verbose:
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-opensky/1.0"
    timeout = 120  # idle keep-alive connections
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.app._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.app._track(self.connection, add=False)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.app.config.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self, method: str) -> None:
        app = self.server.app
        try:
            body = self._read_body()
            split = urlsplit(self.path)
            path = split.path.rstrip("/") or "/"
            if path == STATES_PATH:
                reply = (
                    app.handle_states(self.path, self.headers.get("Authorization"))
                    if method == "GET"
                    else _text_reply(405, "Method Not Allowed\n", {"Allow": "GET"})
                )
            elif path == TOKEN_PATH:
                reply = (
                    app.handle_token(body, self.headers.get("Authorization"))
                    if method == "POST"
                    else _text_reply(405, "Method Not Allowed\n", {"Allow": "POST"})
                )
            elif path.startswith(REDIRECT_PREFIX + "/"):
                location = split.path[len(REDIRECT_PREFIX) :] + (f"?{split.query}" if split.query else "")
                reply = _Reply(302, b"Found", TEXT_TYPE, {"Location": location})
            elif path.startswith("/_control/"):
                reply = app.handle_control(method, path, body)
            else:
                reply = _text_reply(404, f"Not Found: {split.path}\n")
        except (ConnectionError, TimeoutError):
            raise
        except Exception:  # a bug here must show up as a 500 with its traceback, not a hung client
            text = traceback.format_exc()
            print(text, file=sys.stderr, flush=True)
            reply = _text_reply(500, text)
        self._send(reply)

    def _send(self, reply: _Reply) -> None:
        if reply.reset:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()  # RST once finish() releases the stream; no byte of response is sent
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)
