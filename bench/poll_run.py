"""Benchmark (not a test): one Dagster poll run, a whole `dagster job execute` process, against its floor.

Locally, opensky_poll_sensor starts ingest_snapshot_job every 30 s: 2,880 run processes a day, each importing its
code location. Measured side by side in one run, every variant a real `dagster job execute` process on a warm
DAGSTER_HOME (one run first, not counted), the runs interleaved so the machine's noise hits all alike:

- ours: ingest_snapshot_job from the poller's code location (flight_assets.poll_definitions), landing the
  10,578-state global snapshot from fake-opensky into a fresh local lake each run;
- one location: the same job in a location that also holds the hourly tables (both Definitions merged), which is
  what a poll run cost before the poller had a location of its own;
- the floor: a one-op job that does nothing, in a file of its own: Dagster's own cost of a run process here;
- `import dagster` alone, in a fresh interpreter.

Target: ours <= 1 s (issue #11 item 3).

    .venv/bin/python bench/poll_run.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import REPO, opensky_data_dir, start_fake_opensky, summarize  # noqa: E402
from flight_assets_tests.hour_data import GLOBAL  # noqa: E402

TARGET_S = 1.0
DAGSTER = str(Path(sys.executable).parent / "dagster")

NOOP_JOB = '''import dagster as dg


@dg.op
def nothing() -> None:
    pass


@dg.job(executor_def=dg.in_process_executor)
def noop_job() -> None:
    nothing()
'''

ONE_LOCATION = '''import dagster as dg

import flight_assets.definitions
import flight_assets.poll_definitions

defs = dg.Definitions.merge(flight_assets.definitions.defs, flight_assets.poll_definitions.defs)
'''


def timed(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(args, env=env, capture_output=True, text=True, cwd=REPO)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args[:6])} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    fake, api_url = start_fake_opensky("--replay", str(opensky_data_dir() / GLOBAL), "--credits", "10000000")
    work = Path(tempfile.mkdtemp(prefix="bench-poll-run-"))
    try:
        (work / "noop_job.py").write_text(NOOP_JOB)
        (work / "one_location.py").write_text(ONE_LOCATION)
        lakes = work / "lakes"
        base_env = {**os.environ, "OPENSKY_API_URL": api_url, "OPENSKY_TIER": "anonymous",
                    "PYTHONPATH": os.pathsep.join(filter(None, [str(work), os.environ.get("PYTHONPATH")]))}

        def variant(name: str, command: list[str], lands: bool) -> tuple[str, list[str], bool, dict[str, str]]:
            home = work / f"home-{name}"
            home.mkdir()
            return name, command, lands, {**base_env, "DAGSTER_HOME": str(home)}

        variants = [
            variant("ours", [DAGSTER, "job", "execute", "-m", "flight_assets.poll_definitions",
                             "-j", "ingest_snapshot_job"], True),
            variant("one location", [DAGSTER, "job", "execute", "-m", "one_location", "-j", "ingest_snapshot_job"],
                    True),
            variant("floor: no-op job", [DAGSTER, "job", "execute", "-f", str(work / "noop_job.py"),
                                         "-j", "noop_job"], False),
            variant("import dagster", [sys.executable, "-c", "import dagster"], False),
        ]
        samples: dict[str, list[float]] = {name: [] for name, *_ in variants}
        for run in range(args.runs + 1):  # run 0 creates each instance's storage; not counted
            for name, command, lands, env in variants:
                lake = lakes / f"{name.replace(' ', '-')}-{run}"
                elapsed = timed(command, {**env, "FLIGHT_LAKE": str(lake)})
                if lands and not list(lake.rglob("*.json.gz")):
                    raise SystemExit(f"{name}: the run did not land a snapshot")
                if run:
                    samples[name].append(elapsed)

        print(f"flight_assets poll-run benchmark — {platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} cores, Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}")
        print(f"each a whole process, {args.runs} runs interleaved, medians\n")
        stats = {name: summarize(values) for name, values in samples.items()}
        for name, stat in stats.items():
            print(f"{name:18s} median {stat['median']:5.2f} s  p95 {stat['p95']:5.2f} s  min {stat['min']:5.2f} s")
        ours, floor = stats["ours"]["median"], stats["floor: no-op job"]["median"]
        print(f"\nours - floor = {ours - floor:+.2f} s (our op, resources and the poll); "
              f"one location / ours = {stats['one location']['median'] / ours:.2f}×")
        verdict = "meets" if ours <= TARGET_S else "MISSES"
        print(f"target ≤ {TARGET_S:.0f} s: {ours:.2f} s — {verdict} the target "
              f"(Dagster's own floor here: {floor:.2f} s)")
    finally:
        fake.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
