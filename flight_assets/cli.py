"""The `flight-assets` command. Expected failures print one sentence and exit non-zero, never a traceback."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Sequence

from flight_assets.config import ConfigError, Settings, load_settings, partitions_start_time
from flight_assets.lake.store import LakeError
from flight_assets.opensky.credits import TIERS, parse_bbox, plan_cadence

EXIT_FAILED = 1
EXIT_USAGE = 2
IGNORED_SHOWN = 10  # `land` names this many ignored files, then counts the rest


def _positive_ints(text: str) -> list[int]:
    """`--parallel 1,3,10`: a comma-separated list of whole numbers above 0."""
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected whole numbers above 0 separated by commas, got {text!r}")
    return values


def _settings(args: argparse.Namespace, *, calls_opensky: bool = False) -> Settings:
    # --lake is FLIGHT_LAKE for one command: checked by the same rules.
    lake = getattr(args, "lake", None)
    env = {**os.environ, "FLIGHT_LAKE": lake} if lake else dict(os.environ)
    if calls_opensky:
        # load_settings accepts a tier with OPENSKY_SECRET_ARN and no client id (the secret is read when a poll
        # needs it): a command that calls OpenSky reads it here, as the Lambda and Dagster do, never anonymously.
        from flight_assets.opensky.secret import settings_with_secret

        return settings_with_secret(env)
    return load_settings(env)


def cmd_ingest(args: argparse.Namespace) -> int:
    from flight_assets.ingestion.poll import Ingester

    ingester = Ingester(_settings(args, calls_opensky=True), writer="cli")
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
    from flight_assets.ingestion.poll import land_recorded
    from flight_assets.lake.store import open_lake
    from flight_assets.opensky.recorded import scan_recorded

    settings = _settings(args)
    try:
        landable, ignored = scan_recorded(args.paths)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for item in ignored[:IGNORED_SHOWN]:
        print(f"ignored {item.path}: {item.reason}", file=sys.stderr)
    if len(ignored) > IGNORED_SHOWN:
        print(f"ignored {len(ignored) - IGNORED_SHOWN} more file(s) that are not .json or .zip", file=sys.stderr)
    if not landable:
        print(f"error: nothing to land in {' '.join(args.paths)}: {len(ignored)} file(s) ignored; "
              "`land` reads .json responses and .zip archives of them", file=sys.stderr)
        return EXIT_FAILED
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


def cmd_repair(args: argparse.Namespace) -> int:
    from flight_assets.ingestion.repair import parse_duration, repair_gaps

    report = repair_gaps(_settings(args, calls_opensky=True), since_s=parse_duration(args.since), dry_run=args.dry_run)
    print(json.dumps(report.as_dict()) if args.json else report.describe(with_error=False))
    if report.failed:
        print(f"error: {report.stop_reason}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def cmd_credits(args: argparse.Namespace) -> int:
    bbox = parse_bbox(args.bbox) if args.bbox else None
    plan = plan_cadence(args.tier, bbox)
    if args.json:
        print(json.dumps(dataclasses.asdict(plan)))
    else:
        print(plan.describe())
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from flight_assets.analytics import capacity
    from flight_assets.analytics.sizes import measure_sizes, reference_sizes
    from flight_assets.lake.store import open_lake

    bbox = parse_bbox(args.bbox) if args.bbox else None
    sizes = None
    if not args.reference and args.states is None:
        settings = _settings(args)
        sizes = measure_sizes(open_lake(settings.lake, settings.aws_endpoint_url))
    if sizes is None:
        sizes = reference_sizes(bbox, args.states)
    plan = capacity.plan_capacity(args.tier, bbox, sizes)
    print(capacity.describe(plan, days=args.days))
    print(capacity.describe_scale(plan, args.parallel, args.queries_per_day))
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from flight_assets.analytics.query import run_query

    print(run_query(args.sql, _settings(args), args.format))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from flight_assets.tools import demo

    if args.serve:
        return demo.serve(args.hours, args.aircraft, ui_port=args.ui_port, fake_port=args.fake_port)
    settings = _settings(args)
    if args.hours <= 0:
        print("error: --hours must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    ok = demo.build_hours(demo.land_history(settings, args.hours, args.aircraft))
    return 0 if ok else EXIT_FAILED


def cmd_fake_opensky(args: argparse.Namespace) -> int:
    from flight_assets.tools import fake_opensky

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

    repair = sub.add_parser("repair", help="fetch missed snapshots of the last hour from OpenSky (time=) and land "
                                           "them, with spare credits only")
    repair.add_argument("--since", default="60m", help="how far back to look: 60m (default), 90s, 1h; OpenSky keeps "
                        "one hour")
    repair.add_argument("--dry-run", action="store_true", help="list the missing slots; fetch nothing")
    repair.add_argument("--lake", help="lake root (default: FLIGHT_LAKE or .lake)")
    repair.add_argument("--json", action="store_true", help="print the report as JSON")
    repair.set_defaults(func=cmd_repair)

    credits = sub.add_parser("credits", help="what cadence an OpenSky tier and box sustain")
    credits.add_argument("--tier", choices=TIERS, default="standard")
    credits.add_argument("--bbox", metavar="LAMIN,LOMIN,LAMAX,LOMAX", help="bounding box (default: the globe)")
    credits.add_argument("--json", action="store_true")
    credits.set_defaults(func=cmd_credits)

    plan = sub.add_parser("plan", help="credits, volumes and an approximate monthly AWS bill for a tier and box")
    plan.add_argument("--tier", choices=TIERS, default="standard")
    plan.add_argument("--bbox", metavar="LAMIN,LOMIN,LAMAX,LOMAX", help="bounding box (default: the globe)")
    plan.add_argument("--days", type=int, default=30, help="period for the volume totals")
    plan.add_argument("--parallel", type=_positive_ints, default=[1, 3, 10, 30], metavar="N[,N...]",
                      help="ECS run tasks at a time for the year's backfill (default 1,3,10,30)")
    plan.add_argument("--queries-per-day", type=int, default=100, metavar="N",
                      help="Athena queries of each kind in a day (default 100)")
    plan.add_argument("--reference", action="store_true",
                      help="use the benchmarks' reference sizes even when the lake holds data")
    plan.add_argument("--states", type=float, metavar="N", help="states per snapshot (default: measured in the "
                      "lake, else the box's share of a global snapshot)")
    plan.add_argument("--lake", help="lake root to measure sizes from (default: FLIGHT_LAKE or .lake)")
    plan.set_defaults(func=cmd_plan)

    query = sub.add_parser("query", help="SQL over the lake (DuckDB views validated_states, quarantined_states, "
                                         "country_aggregates)")
    query.add_argument("sql", help='e.g. "SELECT origin_country, sum(states) FROM country_aggregates GROUP BY 1"')
    query.add_argument("--format", choices=("table", "csv", "json"), default="table")
    query.add_argument("--lake", help="lake root (default: FLIGHT_LAKE or .lake)")
    query.set_defaults(func=cmd_query)

    demo_cmd = sub.add_parser("demo", help="land and build simulated hours; --serve runs the offline platform")
    demo_cmd.add_argument("--hours", type=int, default=3, help="closed hours of history to land and build")
    demo_cmd.add_argument("--aircraft", type=int, default=2000, help="simulated aircraft")
    demo_cmd.add_argument("--serve", action="store_true",
                          help="also start fake-opensky and dagster dev against it (Ctrl-C stops all)")
    demo_cmd.add_argument("--ui-port", type=int, default=3000)
    demo_cmd.add_argument("--fake-port", type=int, default=8090)
    demo_cmd.add_argument("--lake", help="lake root (default: FLIGHT_LAKE or .lake)")
    demo_cmd.set_defaults(func=cmd_demo)

    fake = sub.add_parser("fake-opensky", help="run the OpenSky-compatible local server")
    from flight_assets.tools import fake_opensky

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
