"""The Lambda handler, called in Python (moto cannot run Lambda functions without Docker) against real servers."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from flight_assets import lambda_handler as handler_module
from flight_assets.config import ConfigError
from flight_assets.opensky.governor import CLOCK_SKEW_S
from flight_assets.tools.fake_opensky import FakeOpenSky, FakeOpenSkyConfig
from flight_assets_tests.hour_data import GLOBAL
from flight_assets_tests.servers import MotoServer


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


def well_inside_a_cadence_slot(interval_s: float = 30.0, margin_s: float = 2.0) -> None:
    """Waits (2 s at most) until a claim now and one a second later fall in the same cadence slot (slots of the
    licensed tier's 30 s, each begun CLOCK_SKEW_S early), so a test's second poll is a cadence skip whenever it runs."""
    while (time.time() + CLOCK_SKEW_S) % interval_s > interval_s - margin_s:
        time.sleep(0.05)


def test_handler_lands_a_snapshot_and_reports(
    lambda_env: tuple[FakeOpenSky, str], moto_server: MotoServer, opensky_data: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, bucket = lambda_env
    well_inside_a_cadence_slot()  # otherwise, 1 run in about 100, the second poll starts the next slot and lands
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


def _failed_invocation(capsys: pytest.CaptureFixture[str], event: dict[str, object] | None = None
                       ) -> tuple[str, list[dict[str, object]], str]:
    """The ConfigError's message, the JSON lines logged, and everything an operator could see (output, traceback)."""
    with pytest.raises(ConfigError) as caught:
        handler_module.lambda_handler(event or {}, FakeContext(remaining_ms=60_000))
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines()]
    seen = out + "".join(traceback.format_exception(caught.value))
    return str(caught.value), lines, seen


def _assert_one_error_line_and_metric(lines: list[dict[str, object]], message: str) -> None:
    assert [line["event"] for line in lines if "event" in line] == ["config_error"]
    assert [line["message"] for line in lines if "event" in line] == [message]
    [emf] = [line for line in lines if "_aws" in line]  # the dashboard's Errors metric; the raise is Lambda's
    assert emf["Errors"] == 1 and emf["Landed"] == 0 and emf["status"] == "config_error"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("POLLS_PER_INVOCATION", "abc", "POLLS_PER_INVOCATION='abc' is not a whole number of at least 1"),
        ("POLLS_PER_INVOCATION", "2.5", "POLLS_PER_INVOCATION='2.5' is not a whole number of at least 1"),
        ("POLLS_PER_INVOCATION", "0", "POLLS_PER_INVOCATION='0' is not a whole number of at least 1"),
        ("POLLS_PER_INVOCATION", "-3", "POLLS_PER_INVOCATION='-3' is not a whole number of at least 1"),
        ("POLL_SPACING_S", "abc", "POLL_SPACING_S='abc' is not a number of seconds above 0"),
        ("POLL_SPACING_S", "0", "POLL_SPACING_S='0' is not a number of seconds above 0"),
        ("POLL_SPACING_S", "-3", "POLL_SPACING_S='-3' is not a number of seconds above 0"),
        ("POLL_SPACING_S", "nan", "POLL_SPACING_S='nan' is not a number of seconds above 0"),
    ],
)
def test_bad_poll_settings_are_one_logged_sentence_and_a_counted_error(
    lambda_env: tuple[FakeOpenSky, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    variable: str, value: str, message: str,
) -> None:
    server, _ = lambda_env
    monkeypatch.setenv(variable, value)
    error, lines, _ = _failed_invocation(capsys)
    assert error == message
    _assert_one_error_line_and_metric(lines, message)
    assert server.credits_remaining("lambda-client") == 14_400  # nothing was polled
    # A test invoke's event fields are checked the same way, named as event fields.
    monkeypatch.delenv(variable)
    error, lines, _ = _failed_invocation(capsys, {"polls_per_invocation": 0})
    assert error == "event field polls_per_invocation='0' is not a whole number of at least 1"


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        (None, "OPENSKY_SECRET_ARN={arn}: Secrets Manager has no such secret"),
        ("client_id=lambda-client&client_secret=not-json-sekrit-1",
         'the secret OPENSKY_SECRET_ARN={arn} is not JSON; store {{"client_id": "…", "client_secret": "…"}}'),
        (json.dumps({"id": "lambda-client", "secret": "wrong-keys-sekrit-2"}),
         'the secret OPENSKY_SECRET_ARN={arn} has no client_id or client_secret key; '
         'store {{"client_id": "…", "client_secret": "…"}}'),
        (json.dumps({"client_id": "lambda-client", "client_secret": 31415926535}),
         'the secret OPENSKY_SECRET_ARN={arn}: client_secret must be a non-empty string; '
         'store {{"client_id": "…", "client_secret": "…"}}'),
        (json.dumps(["lambda-client", "list-sekrit-3"]),
         'the secret OPENSKY_SECRET_ARN={arn} is a JSON list, not an object; '
         'store {{"client_id": "…", "client_secret": "…"}}'),
    ],
)
def test_unusable_opensky_secrets_are_one_sentence_naming_the_secret_not_its_value(
    lambda_env: tuple[FakeOpenSky, str], moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], secret: str | None, problem: str,
) -> None:
    _, bucket = lambda_env
    secrets = boto3.client("secretsmanager", endpoint_url=moto_server.url, region_name="us-east-1")
    if secret is None:
        arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:opensky-deleted-AbCdEf"
    else:
        arn = secrets.create_secret(Name=f"opensky-bad-{bucket}", SecretString=secret)["ARN"]
    monkeypatch.setenv("OPENSKY_SECRET_ARN", arn)
    error, lines, seen = _failed_invocation(capsys)
    assert error == problem.format(arn=arn)
    _assert_one_error_line_and_metric(lines, error)
    for value in ("sekrit", "31415926535"):
        assert value not in seen
    assert "Traceback" not in "".join(str(line) for line in lines)


def test_lambda_spools_to_tmp_unless_told_otherwise() -> None:
    # /tmp is the only writable place on Lambda; it outlives an invocation on a warm instance.
    settings = handler_module._settings_with_secret({"FLIGHT_LAKE": "s3://bucket/lake"})
    assert settings.spool_dir == handler_module.LAMBDA_SPOOL_DIR == "/tmp/flight-assets-spool"
    assert handler_module._settings_with_secret({"FLIGHT_SPOOL_DIR": "/mnt/efs/spool"}).spool_dir == "/mnt/efs/spool"
