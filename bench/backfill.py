"""Benchmark (not a test): a 48-hour backfill of the hourly tables through a real `dagster dev`.

Lands --hours hours of the real 10,578-state global snapshot, re-timed every --every-s seconds (12 snapshots an hour
by default: 127 k rows per hour, a tenth of a global 30-s hour, so 48 hours fit the disk and the time of a bench
run), in a local lake; starts `dagster dev` with the project's local instance config (`dev/dagster.yaml`: run
queue, `hourly_tables` pool of 1); waits until raw_landing_sensor reported every hour; launches one asset backfill
of validated_states + country_aggregates through GraphQL, as the UI does; and measures, until the backfill is done:
wall time from launch, the runs it became (BackfillPolicy.multi_run(24)), and the peak RSS of each run process and
of all of them at once (sampled from /proc every 0.25 s).

    .venv/bin/python bench/backfill.py [--hours 48] [--every-s 300]
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import REPO, opensky_data_dir  # noqa: E402
from flight_assets.lake.layout import PARTITION_KEY_FORMAT  # noqa: E402
from flight_assets.lake.store import LocalLake  # noqa: E402
from flight_assets_tests.e2e_support import DagsterDev, platform_env  # noqa: E402
from flight_assets_tests.hour_data import land_bodies, load_global, retimed_body  # noqa: E402

FIRST_HOUR = datetime(2025, 8, 28, tzinfo=UTC)


def group_rss_kib(pgid: int) -> dict[int, int]:
    """RSS of every live process of `dagster dev`'s process group (webserver, daemon, code server, run workers)."""
    found = {}
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    found[int(proc.name)] = int(line.split()[1])
    return found


class RssSampler(threading.Thread):
    """Peak RSS of the processes that appear after the backfill is launched: the run workers (the code server
    starts one per run), sampled every 0.25 s."""

    def __init__(self, pgid: int) -> None:
        super().__init__(daemon=True)
        self.pgid = pgid
        self.before = set(group_rss_kib(pgid))
        self.per_process: dict[int, int] = {}
        self.total_peak = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            now = {pid: kib for pid, kib in group_rss_kib(self.pgid).items() if pid not in self.before}
            for pid, kib in now.items():
                self.per_process[pid] = max(self.per_process.get(pid, 0), kib)
            self.total_peak = max(self.total_peak, sum(now.values()))
            time.sleep(0.25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=int, default=48)
    parser.add_argument("--every-s", type=int, default=300)
    args = parser.parse_args()
    doc = load_global(opensky_data_dir())
    hours = [(FIRST_HOUR + timedelta(hours=h)).strftime(PARTITION_KEY_FORMAT) for h in range(args.hours)]
    work = Path(tempfile.mkdtemp(prefix="flight-bench-backfill-"))
    try:
        lake = LocalLake(work / "lake")
        started = time.monotonic()
        start = int(FIRST_HOUR.timestamp())
        for h in range(args.hours):
            land_bodies(lake, [retimed_body(doc, start + 3600 * h + offset + 7)
                               for offset in range(0, 3600, args.every_s)])
        per_hour = 3600 // args.every_s
        print(f"landed {args.hours} hours x {per_hour} snapshots x {len(doc['states']):,} states "
              f"in {time.monotonic() - started:.0f} s")
        home = work / "home"
        home.mkdir()
        shutil.copy(REPO / "dev" / "dagster.yaml", home / "dagster.yaml")

        class NoOpenSky:  # the poll sensor is off: nothing calls OpenSky
            api_url = "http://127.0.0.1:9/api"
            token_url = "http://127.0.0.1:9/token"

        env = platform_env(home, str(lake.root), "http://127.0.0.1:9", NoOpenSky())  # type: ignore[arg-type]
        env.update({"FLIGHT_POLL_SENSOR": "off", "FLIGHT_PARTITIONS_START": f"{FIRST_HOUR:%Y-%m-%d}"})
        for name in ("AWS_ENDPOINT_URL", "OPENSKY_CLIENT_ID", "OPENSKY_CLIENT_SECRET", "OPENSKY_TIER"):
            env.pop(name, None)
        dagster = DagsterDev(home, env).start()
        try:
            dagster.wait_ready()
            deadline = time.monotonic() + 600
            while {m["partition"] for m in dagster.materializations("raw_snapshots")} != set(hours):
                if time.monotonic() > deadline:
                    sys.exit("raw_landing_sensor did not report every hour within 10 minutes")
                time.sleep(2)
            assert dagster.process is not None
            sampler = RssSampler(dagster.process.pid)
            sampler.start()
            launched = time.monotonic()
            backfill_id = dagster.launch_backfill(hours, ["validated_states", "country_aggregates"])
            while (backfill := dagster.backfill(backfill_id))["status"] in ("REQUESTED", "CANCELING", "FAILING"):
                if time.monotonic() - launched > 1800:
                    sys.exit(f"backfill {backfill_id} not done after 30 minutes")
                time.sleep(1)
            wall = time.monotonic() - launched
            sampler.stopped.set()
            runs = dagster.runs(tags={"dagster/backfill": backfill_id})
            built = {m["partition"] for m in dagster.materializations("country_aggregates")}
            # Inside the runs (process start-up included, the daemon's pick-up not) and inside the builds.
            in_runs = sum(
                run["endTime"] - run["startTime"]
                for run in (dagster.graphql(
                    "query ($id: ID!) { runOrError(runId: $id) { ... on Run { startTime endTime } } }",
                    {"id": r["runId"]})["runOrError"] for r in runs)
            )
            in_builds = sum(m["metadata"]["duration_s"] for asset in ("validated_states", "country_aggregates")
                            for m in dagster.materializations(asset, hours))
        finally:
            dagster.stop()
        # Short-lived helpers (a sensor tick's subprocess) also appear: count the ones that grew past 150 MB.
        peaks = sorted(kib for kib in sampler.per_process.values() if kib > 150 * 1024)
        print(f"backfill of {len(hours)} hours ({per_hour * len(doc['states']):,} states each): "
              f"{backfill['status']}, {len(runs)} runs ({', '.join(sorted(r['status'] for r in runs))}), "
              f"{len(built)} hours built")
        print(f"  wall time from launch to done: {wall:.0f} s ({wall / len(hours):.1f} s per hour, daemon "
              "pickup and run start-up included)")
        print(f"  inside the runs: {in_runs:.0f} s, of which building the tables {in_builds:.0f} s: Dagster's share "
              f"(run start-up, listing, events and check results) {(in_runs - in_builds) / len(hours):.2f} s an hour")
        print(f"  peak RSS of each process > 150 MB started by the backfill (the run workers): "
              f"{', '.join(f'{kib / 1024:.0f} MB' for kib in peaks)}; all new processes at once: "
              f"{sampler.total_peak / 1024:.0f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
