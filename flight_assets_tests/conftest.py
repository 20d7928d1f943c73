from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from flight_assets.lake.store import Lake, LocalLake, S3Lake
from flight_assets_tests.hour_data import GLOBAL, opensky_data_dir
from flight_assets_tests.servers import MotoServer, S3FaultProxy

REPO_ROOT = Path(__file__).resolve().parents[1]
# The recorded data is from 2017-2025; the partitions (built when the definitions are imported, in this process
# and in every code server a test starts) begin here rather than at the default of a week ago.
TEST_PARTITIONS_START = "2025-01-01"
os.environ["FLIGHT_PARTITIONS_START"] = TEST_PARTITIONS_START

# The two tiers (README, "Tests"): `make test` runs every test, `make test-fast` every test not marked `slow`.
# A test is `slow` when it starts one of these programs (each costs seconds to start, or needs more than
# Python: a Go binary with its provider, a browser, a database server), or when, marked by hand, it waits out
# seconds of real time on purpose (an S3 outage, a poll's budget). In-process servers (moto's, fake-opensky's),
# a temporary DagsterInstance with in-process runs and `python -m flight_assets.cli` stay in the fast tier.
# A test that starts one of these programs without the mark fails (the guard below), so none lands in the fast
# tier by mistake.
SLOW_PROGRAMS = {
    "terraform": "Terraform",
    "dagster": "a Dagster process (`dagster dev`, a run, a code server)",
    "dagster-webserver": "the Dagster webserver",
    "dagster-daemon": "the Dagster daemon",
    "chromium": "Chromium",
    "node": "Playwright's driver (a browser)",
    "initdb": "a PostgreSQL server",
    "pg_ctl": "a PostgreSQL server",
    "postgres": "a PostgreSQL server",
    "runuser": "the install as another user",
}


def slow_program(args: object) -> str | None:
    """What a subprocess started with `args` is, when it is one of SLOW_PROGRAMS (`python -m dagster` too)."""
    if isinstance(args, str | bytes | os.PathLike):
        argv = os.fsdecode(args).split()  # shell=True: the command line
    else:
        argv = [os.fsdecode(a) for a in args]  # type: ignore[attr-defined]
    if not argv:
        return None
    program = os.path.basename(argv[0])
    if program in SLOW_PROGRAMS:
        return SLOW_PROGRAMS[program]
    if program.startswith("python") and "-m" in argv[:-1]:
        module = argv[argv.index("-m") + 1].split(".")[0]
        return SLOW_PROGRAMS.get(module)
    return None


class _SlowProgramGuard:
    """Notes every slow program started while a test not marked `slow` runs (an audit hook sees every Popen)."""

    def __init__(self) -> None:
        self.watching = False
        self.started: list[str] = []
        sys.addaudithook(self._audit)

    def _audit(self, event: str, args: tuple[object, ...]) -> None:
        if event == "subprocess.Popen" and self.watching:
            what = slow_program(args[1] if args[1] is not None else args[0])
            if what:
                self.started.append(what)


_slow_guard = _SlowProgramGuard()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    _slow_guard.watching = item.get_closest_marker("slow") is None
    _slow_guard.started = []
    yield
    _slow_guard.watching = False


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if call.when == "teardown" and _slow_guard.watching and _slow_guard.started and report.passed:
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid} started {', '.join(sorted(set(_slow_guard.started)))} without the `slow` mark: "
            "mark it @pytest.mark.slow (the tier rule: flight_assets_tests/conftest.py SLOW_PROGRAMS)")


@pytest.fixture(scope="session")
def opensky_data() -> Path:
    path = opensky_data_dir()
    if not (path / GLOBAL).exists():
        pytest.skip(f"recorded OpenSky data not found at {path} (set FLIGHT_OPENSKY_DATA to its folder)")
    return path


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's own OpenSky credentials, lake or spool; AWS points nowhere real."""
    for name in list(os.environ):
        if name.startswith(("OPENSKY_", "FLIGHT_")) or name == "AWS_ENDPOINT_URL":
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLIGHT_PARTITIONS_START", TEST_PARTITIONS_START)
    monkeypatch.setenv("FLIGHT_SPOOL_DIR", str(tmp_path / "spool"))  # not .spool in the working copy
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(moto_server: MotoServer) -> str:
    name = f"lake-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_server.url, region_name="us-east-1").create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_lake(moto_server: MotoServer, s3_bucket: str) -> S3Lake:
    return S3Lake(f"s3://{s3_bucket}/lake", endpoint_url=moto_server.url)


@pytest.fixture
def s3_proxy(moto_server: MotoServer) -> Iterator[S3FaultProxy]:
    proxy = S3FaultProxy(moto_server.port).start()
    yield proxy
    proxy.stop()


@pytest.fixture(params=["local", "s3"])
def lake(request: pytest.FixtureRequest, tmp_path: Path) -> Lake:
    """Each lake test runs against a local folder and against S3 on moto's server."""
    if request.param == "local":
        return LocalLake(tmp_path / "lake")
    return request.getfixturevalue("s3_lake")


@pytest.fixture
def instance() -> Iterator[Any]:
    """A real, temporary Dagster instance (its own SQLite storage in a temporary folder)."""
    import dagster as dg  # here, not at the top: most tests need no Dagster

    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def configured_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalLake:
    """A local lake that FLIGHT_LAKE points at, so the Dagster resources and the CLI use it."""
    monkeypatch.setenv("FLIGHT_LAKE", str(tmp_path / "lake"))
    return LocalLake(tmp_path / "lake")
