"""OpenSky blocking the network (403, connections reset, timeouts on every attempt) told apart from rate limiting,
outages and bad bodies, against the project's fake OpenSky with scripted faults; and the Lambda's Blocked metric."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from flight_assets import lambda_handler as handler_module
from flight_assets.config import load_settings
from flight_assets.ingestion.poll import Ingester, IngestResult
from flight_assets.lake.store import LocalLake
from flight_assets.opensky.client import OpenSkyClient
from flight_assets.tools.fake_opensky import FakeOpenSky, FakeOpenSkyConfig
from flight_assets_tests.servers import MotoServer


@pytest.fixture
def fake() -> Iterator[FakeOpenSky]:
    with FakeOpenSky(FakeOpenSkyConfig(simulate=50, tier="licensed", credits=100_000)) as server:
        yield server


def _ingester(fake: FakeOpenSky, lake_dir: Path) -> Ingester:
    settings = load_settings({"OPENSKY_API_URL": fake.api_url, "OPENSKY_TOKEN_URL": fake.token_url,
                              "FLIGHT_LAKE": str(lake_dir), "FLIGHT_SPOOL_DIR": str(lake_dir.parent / "spool")})
    # short timeouts and backoff keep it fast; the classification is the production one
    client = OpenSkyClient.from_settings(settings, read_timeout_s=0.5, backoff_base_s=0.05, deadline_s=3.0)
    return Ingester(settings, lake=LocalLake(lake_dir), client=client, writer="test", poll_budget_s=10.0)


@pytest.mark.parametrize(("faults", "words"), [
    ([{"status": 403}], "OpenSky answered HTTP 403"),
    ([{"kind": "reset"}] * 10, "could not get a response"),
    ([{"kind": "delay", "seconds": 1.0}] * 10, "could not get a response"),
], ids=["403", "reset-every-attempt", "timeout-every-attempt"])
def test_a_block_is_its_own_status(fake: FakeOpenSky, tmp_path: Path, faults: list[dict[str, object]],
                                   words: str) -> None:
    fake.enqueue(*faults)
    result = _ingester(fake, tmp_path / "lake").poll()
    assert result.status == "blocked" and result.failed, result.message
    assert words in result.message and "blocking this network" in result.message and "OpenSky blocks AWS" in \
        result.message


@pytest.mark.parametrize(("faults", "status"), [
    ([{"kind": "429", "retry_after": 3600}], "rate_limited"),
    ([{"kind": "html"}], "error"),                      # a bad body
    ([{"kind": "truncate"}], "error"),
    ([{"status": 503}] * 10, "error"),                  # an outage answers: not a block
    ([{"status": 503}, {"kind": "reset"}, {"kind": "reset"}, {"kind": "reset"}, {"kind": "reset"}], "error"),
    ([{"kind": "reset"}], "landed"),                    # one reset is retried
    ([{"kind": "delay", "seconds": 1.0}], "landed"),    # one timeout is retried
], ids=["429", "html", "truncated", "5xx", "5xx-then-resets", "one-reset", "one-timeout"])
def test_rate_limits_outages_and_bad_bodies_are_not_blocks(fake: FakeOpenSky, tmp_path: Path,
                                                           faults: list[dict[str, object]], status: str) -> None:
    fake.enqueue(*faults)
    result = _ingester(fake, tmp_path / "lake").poll()
    assert result.status == status, result.message
    assert "blocking this network" not in result.message


def _emf_lines(out: str) -> list[dict[str, object]]:
    return [line for line in (json.loads(text) for text in out.splitlines() if text.startswith("{"))
            if "_aws" in line]


def test_lambda_reports_blocked_in_its_emf_namespace(
    fake: FakeOpenSky, moto_server: MotoServer, s3_bucket: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    for name in ("OPENSKY_SECRET_ARN", "OPENSKY_CLIENT_ID", "OPENSKY_CLIENT_SECRET", "OPENSKY_BBOX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENSKY_API_URL", fake.api_url)
    monkeypatch.setenv("OPENSKY_TOKEN_URL", fake.token_url)
    monkeypatch.setenv("OPENSKY_TIER", "anonymous")
    monkeypatch.setenv("FLIGHT_LAKE", f"s3://{s3_bucket}/lake")
    monkeypatch.setenv("FLIGHT_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    monkeypatch.setattr(handler_module, "_INGESTER", None)
    fake.enqueue({"status": 403})
    with pytest.raises(RuntimeError, match="OpenSky answered HTTP 403"):
        handler_module.lambda_handler({"polls_per_invocation": 1}, None)
    lines = _emf_lines(capsys.readouterr().out)
    assert len(lines) == 1 and lines[0]["status"] == "blocked"
    assert lines[0]["Blocked"] == 1 and lines[0]["Errors"] == 1 and lines[0]["Landed"] == 0
    declared = lines[0]["_aws"]["CloudWatchMetrics"][0]  # type: ignore[index]
    assert declared["Namespace"] == "FlightAssets/Ingest"
    assert {"Name": "Blocked", "Unit": "Count"} in declared["Metrics"]
    # every other poll reports Blocked 0, so the alarm's metric has data points while all is well
    handler_module._emf(IngestResult("landed", "ok", key="raw/x", states=3), 12.0)
    (line,) = _emf_lines(capsys.readouterr().out)
    assert line["Blocked"] == 0 and line["Landed"] == 1 and line["status"] == "landed"
