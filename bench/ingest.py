"""Benchmark (not a test): one OpenSky poll end to end, fake-opensky → client → governor → raw landing.

Ingests the real 10,578-state global snapshot from fake-opensky over loopback into moto's S3 server and into a local
lake, N runs each (default 25), every run a real landing (a fresh lake prefix, so nothing is a duplicate). Both
servers run in their own processes. Also measures the Dagster poll job's per-run overhead. Target: ≤ 100 ms median
end to end into S3 on loopback.

    .venv/bin/python bench/ingest.py [--runs 25] [--skip-dagster]
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

from bench.common import REPO, ms, opensky_data_dir, start_fake_opensky, start_moto, summarize  # noqa: E402
from flight_assets_tests.hour_data import GLOBAL  # noqa: E402

TARGET_S3_MS = 100.0


def bench_lake(kind: str, runs: int, api_url: str, lake_uri_for: callable, endpoint: str | None) -> dict[str, object]:
    from flight_assets.config import load_settings
    from flight_assets.ingestion.poll import Ingester

    totals: list[float] = []
    splits: dict[str, list[float]] = {}
    for run in range(runs + 1):  # run 0 warms connections and imports; not counted
        env = {"OPENSKY_API_URL": api_url, "OPENSKY_TIER": "anonymous", "FLIGHT_LAKE": lake_uri_for(run)}
        if endpoint:
            env["AWS_ENDPOINT_URL"] = endpoint
        ingester = Ingester(load_settings(env), writer="bench")
        if run == 0:
            ingester.poll()
            continue
        started = time.perf_counter()
        result = ingester.poll()
        elapsed = time.perf_counter() - started
        if result.status != "landed":
            raise SystemExit(f"{kind} run {run}: {result.status}: {result.message}")
        totals.append(elapsed)
        for name, value in result.timings_s.items():
            splits.setdefault(name, []).append(value)
    return {"total": summarize(totals), "splits": {k: summarize(v)["median"] for k, v in splits.items()}}


def bench_dagster_job(runs: int, api_url: str) -> dict[str, float]:
    """Per-run overhead of ingest_snapshot_job: a whole `dagster job execute` process, as each run is one."""
    samples = []
    home = tempfile.mkdtemp(prefix="bench-dagster-home-")
    lake_root = tempfile.mkdtemp(prefix="bench-dagster-lake-")
    try:
        for run in range(runs):
            env = {**os.environ, "DAGSTER_HOME": home, "OPENSKY_API_URL": api_url,
                   "FLIGHT_LAKE": f"{lake_root}/{run}"}
            started = time.perf_counter()
            subprocess.run([str(Path(sys.executable).parent / "dagster"), "job", "execute", "-m",
                            "flight_assets.definitions", "-j", "ingest_snapshot_job"],
                           env=env, check=True, capture_output=True, cwd=REPO)
            samples.append(time.perf_counter() - started)
            if not list(Path(f"{lake_root}/{run}/raw").rglob("*.json.gz")):
                raise SystemExit("the Dagster job did not land a snapshot")
    finally:
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(lake_root, ignore_errors=True)
    return summarize(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--dagster-runs", type=int, default=5)
    parser.add_argument("--skip-dagster", action="store_true")
    args = parser.parse_args()
    data = opensky_data_dir() / GLOBAL
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    fake, api_url = start_fake_opensky("--replay", str(data), "--credits", "10000000")
    moto, moto_url = start_moto()
    local_root = tempfile.mkdtemp(prefix="bench-lake-")
    try:
        import boto3

        boto3.client("s3", endpoint_url=moto_url).create_bucket(Bucket="bench-lake")
        print(f"flight_assets ingest benchmark — {platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} cores, Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}")
        print(f"input: {GLOBAL} ({data.stat().st_size:,} bytes, 10,578 states), {args.runs} runs per lake\n")
        results = {
            "S3 (moto, loopback)": bench_lake("s3", args.runs, api_url, lambda r: f"s3://bench-lake/run-{r}", moto_url),
            "local lake": bench_lake("local", args.runs, api_url, lambda r: f"{local_root}/run-{r}", None),
        }
        for name, result in results.items():
            total = result["total"]
            split = "  ".join(f"{k} {v * 1000:.1f}" for k, v in result["splits"].items())
            print(f"{name:22s} median {ms(total['median'])}  p95 {ms(total['p95'])}  (n={total['n']})")
            print(f"{'':22s} split (median ms): {split}")
        s3_median = results["S3 (moto, loopback)"]["total"]["median"] * 1000
        verdict = "meets" if s3_median <= TARGET_S3_MS else "MISSES"
        print(f"\ntarget ≤ {TARGET_S3_MS:.0f} ms median into S3: {s3_median:.1f} ms — {verdict} the target "
              f"(seed: 4.2 s per execution, {4200 / s3_median:.0f}× slower)")
        if not args.skip_dagster:
            job = bench_dagster_job(args.dagster_runs, api_url)
            print(f"\nDagster ingest_snapshot_job, whole run process (`dagster job execute`): "
                  f"median {job['median']:.2f} s, p95 {job['p95']:.2f} s (n={job['n']})")
    finally:
        fake.stop()
        moto.stop()
        shutil.rmtree(local_root, ignore_errors=True)


if __name__ == "__main__":
    main()
