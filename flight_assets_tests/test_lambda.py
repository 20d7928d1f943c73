"""The Lambda handler, called in Python (moto cannot run Lambda functions without Docker) against real servers."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from flight_assets import lambda_handler as handler_module
from flight_assets.fake_opensky import FakeOpenSky, FakeOpenSkyConfig
from flight_assets_tests.servers import MotoServer

GLOBAL = "states_global_20250830T181803Z.json"


class FakeContext:
    """The one method of Lambda's context object the handler uses."""

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def lambda_env(
    monkeypatch: pytest.MonkeyPatch, opensky_data: Path, moto_server: MotoServer, s3_bucket: str
) -> Iterator[tuple[FakeOpenSky, str]]:
    config = FakeOpenSkyConfig(replay=[str(opensky_data / GLOBAL)], client_id="lambda-client",
                               client_secret="from-secrets-manager", tier="licensed")
    with FakeOpenSky(config) as server:
        secrets = boto3.client("secretsmanager", endpoint_url=moto_server.url, region_name="us-east-1")
        arn = secrets.create_secret(
            Name=f"opensky-{s3_bucket}",
            SecretString=json.dumps({"client_id": "lambda-client", "client_secret": "from-secrets-manager"}),
        )["ARN"]
        monkeypatch.setenv("OPENSKY_API_URL", server.api_url)
        monkeypatch.setenv("OPENSKY_TOKEN_URL", server.token_url)
        monkeypatch.setenv("OPENSKY_SECRET_ARN", arn)
        monkeypatch.setenv("OPENSKY_TIER", "licensed")
        monkeypatch.setenv("FLIGHT_LAKE", f"s3://{s3_bucket}/lake")
        monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
        monkeypatch.setattr(handler_module, "_INGESTER", None)
        yield server, s3_bucket


def test_handler_lands_a_snapshot_and_reports(
    lambda_env: tuple[FakeOpenSky, str], moto_server: MotoServer, opensky_data: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, bucket = lambda_env
    summary = handler_module.lambda_handler({"polls_per_invocation": 2, "poll_spacing_s": 0.2},
                                            FakeContext(remaining_ms=60_000))
    assert summary["status"] == "ok"
    assert len(summary["keys_landed"]) == 1 and summary["states"] == 10_578
    # The second poll, 0.2 s later, is a skip by the credit governor: a reason, not an error.
    assert [p["status"] for p in summary["polls"]] == ["landed", "skipped"]
    assert summary["skip_reason"] == "cadence"
    s3 = boto3.client("s3", endpoint_url=moto_server.url, region_name="us-east-1")
    key = "lake/" + summary["keys_landed"][0]
    assert gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()) == (opensky_data / GLOBAL).read_bytes()
    assert server.credits_remaining("lambda-client") == 14_400 - 4  # credentials came from Secrets Manager
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    emf = [line for line in lines if "_aws" in line]
    assert len(emf) == 2 and emf[0]["States"] == 10_578 and emf[0]["CreditsRemaining"] == 14_396
    assert emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "FlightAssets/Ingest"
    assert [line["event"] for line in lines if "event" in line] == ["poll", "poll", "summary"]
    assert "from-secrets-manager" not in json.dumps(lines)


def test_handler_stops_early_when_time_runs_out(lambda_env: tuple[FakeOpenSky, str]) -> None:
    summary = handler_module.lambda_handler({"polls_per_invocation": 2}, FakeContext(remaining_ms=40_000))
    assert len(summary["polls"]) == 1 and "would not finish" in summary["stopped_early"]


def test_handler_makes_no_poll_without_time_for_one(lambda_env: tuple[FakeOpenSky, str]) -> None:
    server, _ = lambda_env
    with pytest.raises(RuntimeError, match=r"20000 ms left: poll 1 of 2 would not finish \(a poll needs 27,000 ms\)"):
        handler_module.lambda_handler({"polls_per_invocation": 2}, FakeContext(remaining_ms=20_000))
    assert server.requests_served == 0  # nothing was paid for


def test_handler_raises_when_opensky_is_down_and_the_next_poll_is_skipped(
    lambda_env: tuple[FakeOpenSky, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENSKY_API_URL", "http://127.0.0.1:9/api")  # nothing listens on the discard port
    # The first poll fails, the second (0.2 s later) is a cadence skip: no poll succeeded, so Lambda must count
    # an error rather than get `partial`.
    with pytest.raises(RuntimeError, match="could not get a response") as raised:
        handler_module.lambda_handler({"polls_per_invocation": 2, "poll_spacing_s": 0.2},
                                      FakeContext(remaining_ms=60_000))
    assert "poll allowed" not in str(raised.value) and "next poll due" not in str(raised.value)


def test_handler_raises_when_every_poll_fails(lambda_env: tuple[FakeOpenSky, str]) -> None:
    server, _ = lambda_env
    server.enqueue({"kind": "html"})
    with pytest.raises(RuntimeError, match="not JSON"):
        handler_module.lambda_handler({"polls_per_invocation": 1}, FakeContext(remaining_ms=60_000))


def test_handler_import_chain_has_no_dagster_or_pyarrow() -> None:
    code = (
        "import sys, flight_assets.lambda_handler; "
        "bad = sorted({m.split('.')[0] for m in sys.modules} & {'dagster', 'pyarrow', 'pandas', 'duckdb'}); "
        "print(','.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == ""


def test_lambda_spools_to_tmp_unless_told_otherwise() -> None:
    # /tmp is the only writable place on Lambda; it outlives an invocation on a warm instance.
    settings = handler_module._settings_with_secret({"FLIGHT_LAKE": "s3://bucket/lake"})
    assert settings.spool_dir == handler_module.LAMBDA_SPOOL_DIR == "/tmp/flight-assets-spool"
    assert handler_module._settings_with_secret({"FLIGHT_SPOOL_DIR": "/mnt/efs/spool"}).spool_dir == "/mnt/efs/spool"
