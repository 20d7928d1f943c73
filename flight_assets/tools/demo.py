"""The offline demo: simulated history landed and built, then the platform running against fake-opensky.

`flight-assets demo --hours 3` lands the last N closed hours of simulated traffic (a snapshot every 30 s, through
the same landing code as live polls) and builds validated_states + country_aggregates for them in one run of the
Dagster instance at DAGSTER_HOME, so the UI shows partitions and check results at once. `--serve` then starts
fake-opensky and `dagster dev` against it; Ctrl-C stops everything it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from flight_assets.config import TOKEN_PATH, Settings
from flight_assets.ingestion.poll import land_snapshot
from flight_assets.lake.layout import partition_key_for_time
from flight_assets.lake.store import open_lake
from flight_assets.opensky.snapshot import parse_snapshot
from flight_assets.tools.fake_opensky import SimulatedTraffic
from flight_assets.tools.processes import stop_process_group

DEMO_CLIENT = "demo-client"
DEMO_SECRET = "demo-secret"  # the fake server's own credential, not a secret of anyone's


def land_history(
    settings: Settings, hours: int, aircraft: int, seed: int = 7, now: float | None = None,
    progress: Callable[[str], None] = print,
) -> list[str]:
    """Land `hours` closed hours of simulated snapshots (every 30 s) before now; returns their partition keys."""
    now = time.time() if now is None else now
    end = int(now // 3600) * 3600
    start = end - hours * 3600
    traffic = SimulatedTraffic(aircraft, seed=seed, epoch=now)
    lake = open_lake(settings.lake, settings.aws_endpoint_url)
    total = hours * 120
    for index, at in enumerate(range(start + 3, end, 30), start=1):
        body = traffic.body(at)
        land_snapshot(lake, body, parse_snapshot(body), {"writer": "demo", "source-url": "simulated"})
        if index % 60 == 0 or index == total:
            progress(f"landed {index}/{total} simulated snapshots ({aircraft:,} aircraft each)")
    return sorted({partition_key_for_time(t) for t in range(start, end, 3600)})


def build_hours(partition_keys: list[str], progress: Callable[[str], None] = print) -> bool:
    """validated_states + country_aggregates for the hours, as one run in the DAGSTER_HOME instance."""
    import dagster as dg

    from flight_assets.definitions import defs

    progress(f"building {partition_keys[0]} … {partition_keys[-1]} in one run (validated_states, country_aggregates)")
    with dg.DagsterInstance.get() as instance:
        result = defs.resolve_job_def("hourly_states_job").execute_in_process(
            instance=instance,
            tags={"dagster/asset_partition_range_start": partition_keys[0],
                  "dagster/asset_partition_range_end": partition_keys[-1]},
            raise_on_error=False,
        )
    progress(f"run {result.run_id}: {'succeeded' if result.success else 'FAILED'}")
    return result.success


def demo_environment(api_url: str) -> dict[str, str]:
    """Settings that point every ingester at the fake server with a licensed tier (30-s cadence)."""
    base = api_url.rsplit("/api", 1)[0]
    return {
        "OPENSKY_API_URL": api_url,
        "OPENSKY_TOKEN_URL": f"{base}{TOKEN_PATH}",
        "OPENSKY_CLIENT_ID": DEMO_CLIENT,
        "OPENSKY_CLIENT_SECRET": DEMO_SECRET,
        "OPENSKY_TIER": "licensed",
    }


# `dagster dev` itself warns at start that `dg dev` supersedes it; `dg` (dagster-dg-cli) is not a dependency of
# this project, so that one warning, raised by Dagster's own CLI, is silenced by its text (python -W: a literal
# prefix of the message). The Makefile's `dev` target passes the same option.
QUIET_DAGSTER_DEV = "ignore:Function `dev_command` is superseded"


def dagster_dev_command(port: int, host: str = "127.0.0.1") -> list[str]:
    """`dagster dev -w workspace.yaml` on host:port, as `make dev` runs it (the demo and the tests use this)."""
    return [sys.executable, "-W", QUIET_DAGSTER_DEV, "-m", "dagster", "dev", "-w", "workspace.yaml", "-h", host,
            "-p", str(port)]


def serve(hours: int, aircraft: int, ui_port: int = 3000, fake_port: int = 8090) -> int:
    """Start fake-opensky, land and build the history, then run `dagster dev` until Ctrl-C."""
    from flight_assets.config import load_settings

    def _interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # Explicit handlers: a shell that starts us in the background leaves SIGINT ignored, and SIGTERM (from a
    # supervisor) must clean up too.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    fake = subprocess.Popen(
        [sys.executable, "-m", "flight_assets.cli", "fake-opensky", "--simulate", str(aircraft), "--seed", "7",
         "--port", str(fake_port), "--tier", "licensed", "--client-id", DEMO_CLIENT, "--client-secret", DEMO_SECRET],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )
    dagster: subprocess.Popen[bytes] | None = None
    try:
        line = fake.stdout.readline().strip() if fake.stdout else ""
        if not line.startswith("fake-opensky listening on "):
            print(f"error: fake-opensky did not start (port {fake_port} busy?)", file=sys.stderr)
            return 1
        api_url = line.rsplit(" ", 1)[-1]
        print(f"fake-opensky: {aircraft:,} simulated aircraft at {api_url}")
        os.environ.update(demo_environment(api_url))
        settings = load_settings()
        if hours:
            build_hours(land_history(settings, hours, aircraft))
        Path(os.environ.get("DAGSTER_HOME", ".dagster_home")).mkdir(parents=True, exist_ok=True)
        print(f"Dagster UI: http://127.0.0.1:{ui_port}  (lake: {settings.lake}; Ctrl-C stops everything)",
              flush=True)
        dagster = subprocess.Popen(dagster_dev_command(ui_port), start_new_session=True)
        return dagster.wait()
    except KeyboardInterrupt:
        print("\nstopping the demo …", flush=True)
        return 0
    finally:
        if dagster is not None:
            stop_process_group(dagster)
        stop_process_group(fake)
