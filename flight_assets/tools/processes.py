"""Stopping what we start: a child started with start_new_session=True, with everything it spawned.

Used by the demo, the benchmarks and the tests. `dagster dev` started from a backgrounded shell may ignore SIGTERM,
and its webserver, daemon and run workers live in its process group, so the whole group is stopped and waited for.
No Dagster import.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group, from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(stat.parent.name))
    return members


def stop_process_group(process: subprocess.Popen[Any], timeout: float = 20) -> None:
    """SIGTERM the process's whole group (it was started with start_new_session=True), SIGKILL what remains.

    `dagster dev` started from a backgrounded shell may ignore SIGTERM; its webserver, daemon and run workers are
    in the same group, so nothing it started outlives the test.
    """
    pgid = process.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process.poll()
        if process.returncode is not None and not _group_members(pgid):
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
