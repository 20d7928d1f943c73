"""A deterministic simulated fleet moving by dead reckoning, with the oddities of the real feed."""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Any

from flight_assets.tools.fake_opensky.rows import _dump

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
