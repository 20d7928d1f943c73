"""The `flight-assets` command. Expected failures print one sentence and exit non-zero, never a traceback."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Sequence

from flight_assets.config import ConfigError, Settings, load_settings, partitions_start_time
from flight_assets.credits import TIERS, parse_bbox, plan_cadence
from flight_assets.lake import LakeError

EXIT_FAILED = 1
EXIT_USAGE = 2


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings()
    if getattr(args, "lake", None):
        settings = dataclasses.replace(settings, lake=args.lake)
    return settings


def cmd_ingest(args: argparse.Namespace) -> int:
    from flight_assets.ingest import Ingester

    ingester = Ingester(_settings(args), writer="cli")
    plan = ingester.governor.plan
    interval = args.interval
    if interval is not None and interval < plan.interval_s:
        print(f"note: tier {plan.tier} sustains one poll every {plan.interval_s} s; polls in between are skipped",
              file=sys.stderr)
    failures = 0
    try:
        while True:
            started = time.monotonic()
            result = ingester.poll()
            if args.json:
                print(json.dumps(result.as_dict()), flush=True)
            else:
                print(f"{time.strftime('%H:%M:%S')} {result.status}: {result.message}", flush=True)
            failures = failures + 1 if result.failed else 0
            if interval is None:
                return EXIT_FAILED if result.failed else 0
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
    except KeyboardInterrupt:
        return 0


def cmd_land(args: argparse.Namespace) -> int:
    from flight_assets.ingest import land_recorded
    from flight_assets.lake import open_lake

    settings = _settings(args)
    lake = open_lake(settings.lake, settings.aws_endpoint_url)
    start = partitions_start_time()
    counts = {"landed": 0, "already there": 0, "rejected": 0, "states": 0, "before partitions start": 0}
    seen = 0
    try:
        for item in land_recorded(lake, args.paths):
            seen += 1
            if item.result is None:
                counts["rejected"] += 1
                print(f"rejected {item.name}: {item.error}", file=sys.stderr)
                continue
            counts["landed" if item.result.created else "already there"] += 1
            counts["states"] += item.result.states
            if item.result.snapshot_time < start:
                counts["before partitions start"] += 1
            if not args.quiet and (seen % 100 == 0):
                print(f"… {seen} responses read", file=sys.stderr, flush=True)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"{counts['landed']} landed, {counts['already there']} already there, {counts['rejected']} rejected, "
        f"{counts['states']:,} states, into {lake.uri}"
    )
    if counts["before partitions start"]:
        print(
            f"warning: {counts['before partitions start']} snapshot(s) are dated before FLIGHT_PARTITIONS_START "
            f"({time.strftime('%Y-%m-%d %H:%M', time.gmtime(start))} UTC): Dagster shows no partition for them; "
            "set FLIGHT_PARTITIONS_START earlier to process them",
            file=sys.stderr,
        )
    return EXIT_FAILED if counts["rejected"] and not (counts["landed"] or counts["already there"]) else 0


def cmd_credits(args: argparse.Namespace) -> int:
    bbox = parse_bbox(args.bbox) if args.bbox else None
    plan = plan_cadence(args.tier, bbox)
    if args.json:
        print(json.dumps(dataclasses.asdict(plan)))
    else:
        print(plan.describe())
    return 0


def cmd_fake_opensky(args: argparse.Namespace) -> int:
    from flight_assets import fake_opensky

    return fake_opensky.run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flight-assets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    ingest = sub.add_parser("ingest", help="poll OpenSky into the lake's raw layer")
    mode = ingest.add_mutually_exclusive_group(required=True)
    mode.add_argument("--once", action="store_true", help="one governed poll, then exit")
    mode.add_argument("--interval", type=float, metavar="SECONDS", help="poll every SECONDS until Ctrl-C")
    ingest.add_argument("--lake", help="lake root (default: FLIGHT_LAKE or .lake)")
    ingest.add_argument("--json", action="store_true", help="print each result as JSON")
    ingest.set_defaults(func=cmd_ingest)

    land = sub.add_parser("land", help="land recorded responses (files, folders, zips) into raw/")
    land.add_argument("paths", nargs="+", metavar="PATH")
    land.add_argument("--lake", help="lake root (default: FLIGHT_LAKE or .lake)")
    land.add_argument("--quiet", action="store_true", help="no progress lines")
    land.set_defaults(func=cmd_land)

    credits = sub.add_parser("credits", help="what cadence an OpenSky tier and box sustain")
    credits.add_argument("--tier", choices=TIERS, default="standard")
    credits.add_argument("--bbox", metavar="LAMIN,LOMIN,LAMAX,LOMAX", help="bounding box (default: the globe)")
    credits.add_argument("--json", action="store_true")
    credits.set_defaults(func=cmd_credits)

    fake = sub.add_parser("fake-opensky", help="run the OpenSky-compatible local server")
    from flight_assets import fake_opensky

    fake_opensky.add_arguments(fake)
    fake.set_defaults(func=cmd_fake_opensky)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ConfigError, LakeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED if not isinstance(exc, ConfigError) else EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
