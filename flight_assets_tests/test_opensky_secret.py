"""OpenSky credentials from Secrets Manager, shared by the Lambda and Dagster's OpenSkyResource (ECS run tasks)."""

from __future__ import annotations

import json

import boto3
import pytest

from flight_assets import lambda_handler
from flight_assets.config import ConfigError
from flight_assets.defs.resources import FlightLakeResource, OpenSkyResource
from flight_assets.opensky import secret as secret_module
from flight_assets_tests.servers import MotoServer


@pytest.fixture
def secrets(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> object:
    for name in ("OPENSKY_CLIENT_ID", "OPENSKY_CLIENT_SECRET", "OPENSKY_TIER", "OPENSKY_BBOX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return boto3.client("secretsmanager", endpoint_url=moto_server.url, region_name="us-east-1")


def test_opensky_resource_reads_credentials_from_the_secret(
    secrets: object, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = secrets.create_secret(  # type: ignore[attr-defined]
        Name=f"opensky-ecs-{s3_bucket}",
        SecretString=json.dumps({"client_id": "ecs-client", "client_secret": "ecs-sekrit"}))["ARN"]
    monkeypatch.setenv("OPENSKY_SECRET_ARN", arn)
    monkeypatch.setenv("OPENSKY_TIER", "licensed")
    monkeypatch.setenv("OPENSKY_BBOX", "47.0,5.0,52.0,10.0")
    lake = FlightLakeResource(uri=f"s3://{s3_bucket}/lake")
    settings = OpenSkyResource().settings(lake)
    assert (settings.client_id, settings.client_secret, settings.tier) == ("ecs-client", "ecs-sekrit", "licensed")
    assert settings.bbox is not None and settings.lake == f"s3://{s3_bucket}/lake"
    # the Lambda reads it through the same function
    assert lambda_handler.settings_with_secret is secret_module.settings_with_secret
    assert lambda_handler._settings_with_secret(dict(__import__("os").environ)).client_id == "ecs-client"


def test_explicit_client_id_wins_over_the_secret(secrets: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENSKY_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:never-read-AbCdEf")
    monkeypatch.setenv("OPENSKY_CLIENT_ID", "local")
    monkeypatch.setenv("OPENSKY_CLIENT_SECRET", "local-sekrit")
    assert secret_module.settings_with_secret(dict(__import__("os").environ)).client_id == "local"


def test_a_secret_without_a_value_fails_the_run_not_the_code_server(
    secrets: object, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Terraform creates the secret empty; until someone puts the value in, loading the definitions still works
    # (the code server starts) and only a run that polls fails, with a sentence naming the secret.
    arn = secrets.create_secret(Name=f"opensky-empty-{s3_bucket}")["ARN"]  # type: ignore[attr-defined]
    monkeypatch.setenv("OPENSKY_SECRET_ARN", arn)
    monkeypatch.setenv("FLIGHT_LAKE", f"s3://{s3_bucket}/lake")
    from flight_assets.poll_definitions import defs

    assert defs.resolve_job_def("ingest_snapshot_job") is not None
    with pytest.raises(ConfigError, match="OPENSKY_SECRET_ARN=") as info:
        OpenSkyResource().settings(FlightLakeResource())
    assert "sekrit" not in str(info.value)


def test_cli_commands_that_call_opensky_read_the_secret(
    secrets: object, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ingest` and `repair` read OPENSKY_SECRET_ARN as the Lambda and Dagster do: settings load without the
    credentials, so without the read the CLI would poll anonymously on the budget of the tier it was given."""
    import argparse

    from flight_assets import cli

    arn = secrets.create_secret(  # type: ignore[attr-defined]
        Name=f"opensky-cli-{s3_bucket}",
        SecretString=json.dumps({"client_id": "cli-client", "client_secret": "cli-sekrit"}))["ARN"]
    monkeypatch.setenv("OPENSKY_SECRET_ARN", arn)
    monkeypatch.setenv("OPENSKY_TIER", "standard")
    args = argparse.Namespace(lake=f"s3://{s3_bucket}/lake")
    settings = cli._settings(args, calls_opensky=True)
    assert (settings.client_id, settings.tier, settings.lake) == ("cli-client", "standard", f"s3://{s3_bucket}/lake")
    assert not cli._settings(args).has_credentials  # query, plan, land: no call to OpenSky, no read of the secret
