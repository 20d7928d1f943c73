from __future__ import annotations

import os
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
