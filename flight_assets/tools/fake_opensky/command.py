"""`flight-assets fake-opensky`: its options (defaults read from FakeOpenSkyConfig) and the serve-until-signal loop."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import signal
import sys
import threading
from typing import Any

from flight_assets.opensky.credits import (
    TIERS,
)
from flight_assets.opensky.snapshot import SnapshotError
from flight_assets.tools.fake_opensky.server import FakeOpenSky
from flight_assets.tools.fake_opensky.settings import DEFAULT_SIMULATE, FakeOpenSkyConfig

# The config's defaults, the one place they are written: the options and config_from_args read them here.
DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(FakeOpenSkyConfig)
                            if f.default is not dataclasses.MISSING}


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
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="seed of the simulated fleet and random faults")
    parser.add_argument("--host", default=DEFAULTS["host"], help=f"address to bind (default {DEFAULTS['host']})")
    parser.add_argument(
        "--port", type=int, default=DEFAULTS["port"], help="port to bind (default 0: an ephemeral port, printed)"
    )
    parser.add_argument(
        "--client-id",
        default=None,
        help="OAuth2 client id accepted by the token endpoint (env FAKE_OPENSKY_CLIENT_ID); "
        "without one, any non-empty id and secret get a token",
    )
    parser.add_argument("--client-secret", default=None, help="its secret (env FAKE_OPENSKY_CLIENT_SECRET)")
    parser.add_argument("--token-ttl", type=int, default=DEFAULTS["token_ttl"],
                        help=f"access token lifetime in seconds ({DEFAULTS['token_ttl']})")
    parser.add_argument(
        "--tier",
        choices=TIERS,
        default=DEFAULTS["tier"],
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
        "--retry-after", type=int, default=DEFAULTS["retry_after"],
        help=f"X-Rate-Limit-Retry-After-Seconds sent with 429 ({DEFAULTS['retry_after']})"
    )
    parser.add_argument("--latency-ms", type=float, default=DEFAULTS["latency_ms"], help="added to every /states/all answer")
    parser.add_argument(
        "--error-rate", type=float, default=DEFAULTS["error_rate"], help="fraction answered 503 with an HTML page"
    )
    parser.add_argument(
        "--truncate-rate", type=float, default=DEFAULTS["truncate_rate"], help="fraction whose JSON body is cut short"
    )
    parser.add_argument(
        "--html-rate", type=float, default=DEFAULTS["html_rate"], help="fraction answered 200 with an HTML page"
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")


def config_from_args(args: argparse.Namespace) -> FakeOpenSkyConfig:
    """A config from parsed `add_arguments` options; client credentials default to FAKE_OPENSKY_* env."""

    def opt(name: str) -> Any:  # an options object from elsewhere may lack some: the config's own default
        return getattr(args, name, DEFAULTS.get(name))

    client_id = opt("client_id") or os.environ.get("FAKE_OPENSKY_CLIENT_ID") or None
    client_secret = opt("client_secret") or os.environ.get("FAKE_OPENSKY_CLIENT_SECRET") or None
    return FakeOpenSkyConfig(
        host=opt("host"),
        port=opt("port"),
        replay=list(opt("replay") or []),
        retime=bool(opt("retime")),
        loop=bool(opt("loop")),
        simulate=opt("simulate"),
        seed=opt("seed"),
        client_id=client_id,
        client_secret=client_secret,
        token_ttl=opt("token_ttl"),
        tier=opt("tier"),
        credits=opt("credits"),
        retry_after=opt("retry_after"),
        latency_ms=opt("latency_ms"),
        error_rate=opt("error_rate"),
        truncate_rate=opt("truncate_rate"),
        html_rate=opt("html_rate"),
        verbose=bool(opt("verbose")),
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
