"""Shared by the benchmarks: real servers in their own processes (so they don't share our GIL), and statistics."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from flight_assets.tools.processes import stop_process_group
from flight_assets_tests.hour_data import opensky_data_dir as recorded_data_dir
from flight_assets_tests.servers import free_port

REPO = Path(__file__).resolve().parents[1]


def opensky_data_dir() -> Path:
    path = recorded_data_dir()
    if not path.is_dir():
        sys.exit(f"recorded OpenSky data not found at {path}; set FLIGHT_OPENSKY_DATA to its folder")
    return path


class Process:
    """A server in its own process group, stopped with its whole group (SIGTERM, then SIGKILL)."""

    def __init__(self, args: list[str], ready_url: str | None = None, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                     start_new_session=True, env={**os.environ, **(env or {})})
        if ready_url:
            self._wait(ready_url)

    def _wait(self, url: str) -> None:
        import requests

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(url, timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{url} did not come up within 30 s")

    def stop(self) -> None:
        stop_process_group(self.proc, timeout=10)


def start_moto() -> tuple[Process, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    return Process([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], ready_url=url), url


def start_fake_opensky(*args: str) -> tuple[Process, str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = Process([sys.executable, "-m", "flight_assets.cli", "fake-opensky", "--port", str(port), *args],
                   ready_url=f"{base}/_control/state")
    return proc, f"{base}/api"


def summarize(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median": statistics.median(ordered), "p95": p95, "min": ordered[0], "n": len(ordered)}


def ms(value: float) -> str:
    return f"{value * 1000:7.1f} ms"
