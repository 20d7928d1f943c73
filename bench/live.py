"""Benchmark (not a test): landed → visible. How long after a poll has landed a snapshot does `latest_states` answer
with it? Target (issue 10): within one second.

A lake as it looks mid-hour: the previous hour built (validated/ from `--history` re-timed copies of the real
10,578-state global snapshot) and the hour in progress holding `--open` snapshots. Each run polls fake-opensky
(its own process, replaying the global snapshot re-timed to now) through the production `Ingester` into the lake,
then times `run_query("SELECT … FROM latest_states")`, the same call `flight-assets query` makes, from the moment
the poll returned until the answer carries the new snapshot's time. Also times `live_states` for the hour in
progress (every unbuilt snapshot validated on the fly). Local lake, and S3 on moto's server (its own process).

    .venv/bin/python bench/live.py [--runs 9] [--history 120] [--open 60] [--skip-s3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ms, opensky_data_dir, start_fake_opensky, start_moto, summarize  # noqa: E402

GLOBAL = "states_global_20250830T181803Z.json"
TARGET_S = 1.0
LATEST_SQL = "SELECT max(snapshot_time) AS t, count(*) AS aircraft FROM latest_states"


def retimed(doc: dict, at: int) -> bytes:
    shift = at - doc["time"]
    rows = [[*row[:3], row[3] + shift if isinstance(row[3], int) else row[3],
             row[4] + shift if isinstance(row[4], int) else row[4], *row[5:]] for row in doc["states"]]
    return json.dumps({"time": at, "states": rows}, separators=(",", ":")).encode()


def prepare(lake_uri: str, endpoint: str | None, history: int, open_snapshots: int, now: float) -> int:
    """Land the built hour and the hour in progress; returns how many snapshots the hour in progress holds."""
    from flight_assets.ingestion.poll import land_snapshot
    from flight_assets.lake.layout import partition_key_for_time
    from flight_assets.lake.store import open_lake
    from flight_assets.opensky.snapshot import parse_snapshot
    from flight_assets.states.build import build_validated

    lake = open_lake(lake_uri, endpoint)
    doc = json.loads((opensky_data_dir() / GLOBAL).read_bytes())
    hour = int(now // 3600 * 3600)
    times = [hour - 3600 + 3 + 30 * k for k in range(history)]
    # The hour in progress: snapshots up to a minute ago (the benchmark's own polls come after them).
    in_progress = [t for t in (hour + 3 + 30 * k for k in range(open_snapshots)) if t < now - 60]
    times += in_progress
    for at in times:
        body = retimed(doc, at)
        land_snapshot(lake, body, parse_snapshot(body), {"writer": "bench"})
    if history:
        build_validated(lake, partition_key_for_time(hour - 3600))
    return len(in_progress)


def bench(kind: str, lake_uri: str, endpoint: str | None, api_url: str, runs: int) -> dict[str, object]:
    from flight_assets.analytics.query import run_query
    from flight_assets.config import load_settings
    from flight_assets.ingestion.poll import Ingester

    env = {"OPENSKY_API_URL": api_url, "OPENSKY_TOKEN_URL": api_url.rsplit("/api", 1)[0] + "/auth/realms/"
           "opensky-network/protocol/openid-connect/token", "OPENSKY_CLIENT_ID": "bench",
           "OPENSKY_CLIENT_SECRET": "bench", "OPENSKY_TIER": "licensed", "FLIGHT_LAKE": lake_uri}
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    settings = load_settings(env)
    ingester = Ingester(settings, writer="bench")
    start = time.time()
    latencies: list[float] = []
    live: list[float] = []
    for run in range(runs + 1):  # run 0 warms imports and connections; not counted
        # Successive 30-s slots for the governor (the bench does not wait 30 s between polls); a second apart, so
        # that fake-opensky's re-timed body has a new `time`.
        time.sleep(1.05)
        result = ingester.poll(now=start + 30 * run)
        landed = time.perf_counter()
        if result.status != "landed":
            raise SystemExit(f"{kind}: poll {run} did not land: {result.status}: {result.message}")
        while True:
            answer = json.loads(run_query(LATEST_SQL, settings, "json"))
            if answer and answer[0]["t"] and datetime.fromisoformat(answer[0]["t"]).timestamp() == result.snapshot_time:
                break
        visible = time.perf_counter()
        started = time.perf_counter()
        run_query("SELECT count(*) FROM live_states WHERE snapshot_time >= now() - INTERVAL 1 HOUR", settings)
        live_s = time.perf_counter() - started
        if run:
            latencies.append(visible - landed)
            live.append(live_s)
        print(f"  {kind} run {run}: landed {result.states:,} states; visible in latest_states after "
              f"{ms(visible - landed)}; live_states query {ms(live_s)}{' (warm-up)' if not run else ''}", flush=True)
    return {"latest": summarize(latencies), "live": summarize(live), "states": result.states}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--history", type=int, default=120, help="snapshots in the built previous hour")
    parser.add_argument("--open", type=int, default=60, help="snapshots already in the hour in progress (at most "
                        "those up to a minute ago)")
    parser.add_argument("--skip-s3", action="store_true")
    args = parser.parse_args()
    # moto accepts any credentials; these never leave loopback.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, {args.runs} runs")
    fake, api_url = start_fake_opensky("--replay", str(opensky_data_dir() / GLOBAL), "--retime",
                                       "--tier", "licensed")
    results = {}
    tmp = Path(tempfile.mkdtemp(prefix="bench-live-"))
    moto = None
    try:
        now = time.time()
        lake = str(tmp / "lake")
        print(f"preparing a local lake: {args.history} built + up to {args.open} open-hour snapshots …", flush=True)
        in_progress = prepare(lake, None, args.history, args.open, now)
        print(f"the hour in progress holds {in_progress} snapshots before the runs add {args.runs + 1}", flush=True)
        results["local"] = bench("local", lake, None, api_url, args.runs)
        if not args.skip_s3:
            import boto3

            moto, endpoint = start_moto()
            bucket = f"bench-live-{uuid.uuid4().hex[:8]}"
            boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
            uri = f"s3://{bucket}/lake"
            print("preparing the same lake on moto S3 …", flush=True)
            prepare(uri, endpoint, args.history, args.open, now)
            results["s3"] = bench("s3", uri, endpoint, api_url, args.runs)
    finally:
        fake.stop()
        if moto is not None:
            moto.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    for kind, figures in results.items():
        latest, live = figures["latest"], figures["live"]
        verdict = "meets" if latest["median"] <= TARGET_S else "MISSES"
        print(f"{kind:5}: landed → visible in latest_states: median {ms(latest['median'])}, p95 {ms(latest['p95'])}"
              f" ({figures['states']:,} states; {verdict} the {TARGET_S:g} s target); live_states over the open "
              f"hour: median {ms(live['median'])}")


if __name__ == "__main__":
    main()
